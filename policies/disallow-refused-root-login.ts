import { ResourceValidationPolicy } from "@pulumi/policy";
import { loginView } from "./declaration";

/**
 * A root login needs PermitRootLogin to admit its method: "no" refuses root altogether,
 * "prohibit-password" refuses its password, "forced-commands-only" refuses it a shell.
 */
export const disallowRefusedRootLogin: ResourceValidationPolicy = {
    name: "sshremedy-sshd-disallow-refused-root-login",
    description: "When the login is root, the declared PermitRootLogin admits root with the login's method.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        const prl = v?.settings.permitRootLogin;
        if (!v || v.user !== "root" || prl === undefined || prl === "yes") return;
        const at = `${v.name}: ${v.settingsPath}.permitRootLogin is "${prl}" and ${v.loginPath}.user is root`;
        if (prl === "no") {
            reportViolation(`${at}, so sshd refuses the login; log in as another user, or set permitRootLogin to "prohibit-password" and use a key.`);
        } else if (v.method === "password") {
            reportViolation(`${at} with a password, which "${prl}" refuses; log root in with a key (or as another user).`);
        } else if (prl === "forced-commands-only") {
            reportViolation(`${at}: "forced-commands-only" gives the key no shell; set permitRootLogin to "prohibit-password".`);
        }
    },
};
