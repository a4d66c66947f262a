import { ResourceValidationPolicy } from "@pulumi/policy";
import { sshAccessType } from "./declaration";

/**
 * `tencent.rescue.allowed` lets a run stop the instance and change its disk from rescue mode when
 * nothing else reaches it. Useful for the worst case, and an outage of minutes it decides alone:
 * advisory by default, made mandatory where production instances must not be stopped unattended.
 */
export const disallowUnattendedRescueMode: ResourceValidationPolicy = {
    name: "sshremedy-tencent-disallow-unattended-rescue-mode",
    description: "No SshAccess lets a run stop its Tencent Cloud instance for rescue mode unattended (tencent.rescue.allowed).",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        if (args.type !== sshAccessType) return;
        const tencent = args.props.tencent as { rescue?: { allowed?: unknown } } | undefined;
        if (tencent?.rescue?.allowed === true) {
            reportViolation(`${args.name}: tencent.rescue.allowed lets a run stop the instance and repair its disk from rescue mode when `
                + "neither SSH nor TAT reaches it (minutes out of service, decided by the run); allow it for one run when needed, or accept it here.");
        }
    },
};
