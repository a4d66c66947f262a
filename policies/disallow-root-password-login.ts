import { ResourceValidationPolicy } from "@pulumi/policy";
import { loginView } from "./declaration";

/**
 * A declared root login by password makes the components turn root password logins on
 * (PermitRootLogin yes, PasswordAuthentication yes) to let it in.
 */
export const disallowRootPasswordLogin: ResourceValidationPolicy = {
    name: "sshremedy-sshd-disallow-root-password-login",
    description: "The declared login is not root with a password.",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        if (!v || v.user !== "root" || v.method !== "password") return;
        reportViolation(`${v.name}: ${v.loginPath} is root with a password, which needs root password logins on (PermitRootLogin yes); `
            + "log root in with a key, or log in as an unprivileged user and use sudo.");
    },
};
