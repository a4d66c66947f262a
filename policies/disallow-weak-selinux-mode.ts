import { ResourceValidationPolicy } from "@pulumi/policy";
import { sshAccessType } from "./declaration";

/**
 * SELinux confines sshd and the sessions it starts; turning it down is the guide's quick fix for a
 * key login SELinux refuses, where relabelling ~/.ssh is the real one.
 */
export const disallowWeakSelinuxMode: ResourceValidationPolicy = {
    name: "sshremedy-selinux-disallow-weak-mode",
    description: "SshAccess keeps SELinux enforcing (not permissive, not disabled).",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        const selinux = args.props.selinux as { mode?: string } | false | undefined;
        if (args.type !== sshAccessType || !selinux || (selinux.mode !== "permissive" && selinux.mode !== "disabled")) return;
        reportViolation(`${args.name}: selinux.mode is "${selinux.mode}", so SELinux no longer confines sshd and the sessions it starts; `
            + 'keep "enforcing" and let selinux.relabelUsers fix the labels of ~/.ssh.');
    },
};
