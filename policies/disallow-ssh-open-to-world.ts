import { ResourceValidationPolicy } from "@pulumi/policy";
import { list, sshAccessType } from "./declaration";
import { isEverywhere } from "./network";

/** The SSH port open to every address invites every scanner and password guesser to it. */
export const disallowSshOpenToWorld: ResourceValidationPolicy = {
    name: "sshremedy-disallow-ssh-open-to-world",
    description: "Neither the firewall allowlist nor the login's sources hold 0.0.0.0/0 or ::/0.",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        if (args.type !== sshAccessType) return;
        const fw = args.props.firewall as { allow?: unknown[] } | false | undefined;
        const login = args.props.login as { sources?: unknown[] } | undefined;
        const where: Array<[string, readonly unknown[]]> = [["firewall.allow", fw ? list(fw.allow) : []], ["login.sources", list(login?.sources)]];
        for (const [field, entries] of where) {
            entries.forEach((e, i) => {
                if (typeof e === "string" && isEverywhere(e)) {
                    reportViolation(`${args.name}: ${field}[${i}] '${e}' opens SSH to every IPv${e.includes(":") ? 6 : 4} address; `
                        + "list the operators' addresses or networks (a bastion, the office) instead.");
                }
            });
        }
    },
};
