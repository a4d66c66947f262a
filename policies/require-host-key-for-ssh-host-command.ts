import { ResourceValidationPolicy } from "@pulumi/policy";
import { hostCommandType } from "./declaration";

/**
 * A HostCommand over ssh should pin the host's key: without `hostKey` the first key presented
 * in each run is trusted, so a machine that takes over the address receives the operator's
 * login and every script. Console targets need no key.
 */
export const requireHostKeyForSshHostCommand: ResourceValidationPolicy = {
    name: "sshremedy-host-command-require-host-key",
    description: "Scripts sent over ssh go only to a host whose public key is pinned (target.hostKey).",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        if (args.type !== hostCommandType) {
            return;
        }
        const target = args.props.target as { kind?: string; host?: string; hostKey?: string } | undefined;
        if (target?.kind === "ssh" && !target.hostKey) {
            reportViolation(`${args.name}: ssh target ${target.host ?? "?"} has no hostKey; `
                + "set target.hostKey to the host's public key (ssh-keyscan it over a trusted path) or use a console target.");
        }
    },
};
