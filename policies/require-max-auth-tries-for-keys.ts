import { ResourceValidationPolicy } from "@pulumi/policy";
import { loginView } from "./declaration";
import { declaredValues } from "./settings-values";

interface Config {
    readonly keysOffered?: number;
}

export const DEFAULT_KEYS_OFFERED = 6;

/**
 * Each key a client offers uses one of MaxAuthTries; an operator whose agent holds more keys than
 * that gets "Too many authentication failures" before the right one ([S11]). The verifier offers
 * one key, but the people who must get in next use agents: the default, 6, is also the value
 * SshAccess raises a lower MaxAuthTries to when it repairs [S11].
 */
export const requireMaxAuthTriesForKeys: ResourceValidationPolicy = {
    name: "sshremedy-sshd-require-max-auth-tries-for-keys",
    description: "MaxAuthTries (global and in Match blocks) is at least the number of keys operators' agents offer.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { keysOffered: { type: "integer", minimum: 1, maximum: 50, default: DEFAULT_KEYS_OFFERED } },
    },
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        if (!v) return;
        const keys = args.getConfig<Config>().keysOffered ?? DEFAULT_KEYS_OFFERED;
        for (const { path, value } of declaredValues(v.settings, v.settingsPath, "maxAuthTries")) {
            if (typeof value === "number" && value < keys) {
                reportViolation(`${v.name}: ${path} is ${value}, below the ${keys} keys an operator's agent may offer (policy config keysOffered), `
                    + `so sshd answers "Too many authentication failures" before the right key; raise it to ${keys} or more.`);
            }
        }
    },
};
