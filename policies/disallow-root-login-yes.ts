import { ResourceValidationPolicy } from "@pulumi/policy";
import { loginView } from "./declaration";
import { declaredValues } from "./settings-values";

/** PermitRootLogin yes lets anyone who guesses or steals root's password in as root. */
export const disallowRootLoginYes: ResourceValidationPolicy = {
    name: "sshremedy-sshd-disallow-root-login-yes",
    description: "PermitRootLogin is not \"yes\" (globally or in a Match block).",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        if (!v) return;
        for (const { path, value } of declaredValues(v.settings, v.settingsPath, "permitRootLogin")) {
            if (value === "yes") {
                reportViolation(`${v.name}: ${path} is "yes", which lets root log in with a password; use "prohibit-password" (keys only) or "no".`);
            }
        }
    },
};
