import { ResourceValidationPolicy } from "@pulumi/policy";
import { loginView } from "./declaration";

/**
 * MaxStartups N refuses every unauthenticated connection beyond N, so a flood of half-open
 * connections shuts operators out; start:rate:full drops at random from `start` on and keeps a
 * chance for a real login until `full`.
 */
export const requireMaxStartupsRandomEarlyDrop: ResourceValidationPolicy = {
    name: "sshremedy-sshd-require-max-startups-random-early-drop",
    description: "A declared MaxStartups uses the random-early-drop form start:rate:full.",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        const m = v?.settings.maxStartups;
        if (!v || m === undefined || (typeof m === "string" && /^\d+:\d+:\d+$/.test(m))) return;
        reportViolation(`${v.name}: ${v.settingsPath}.maxStartups is ${JSON.stringify(m)}, which refuses every unauthenticated connection beyond `
            + 'that number, so a flood shuts operators out; use "start:rate:full" such as "10:30:100" (random early drop).');
    },
};
