import { ResourceValidationPolicy } from "@pulumi/policy";
import { list, loginView, show } from "./declaration";

const completes = (methods: string, method: "key" | "password") => methods.split(",").every((m) =>
    (method === "key" ? m === "publickey" : m === "password" || m.startsWith("keyboard-interactive")));

/**
 * The login authenticates with one method (a key, or a password typed through password or
 * keyboard-interactive), so the declared settings must leave that method on and let it alone
 * complete an AuthenticationMethods list.
 */
export const disallowDisabledLoginMethod: ResourceValidationPolicy = {
    name: "sshremedy-sshd-disallow-disabled-login-method",
    description: "The declared settings leave the login's method (key or password) switched on and sufficient.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        if (!v || (v.method !== "key" && v.method !== "password")) return;
        const s = v.settings;
        const at = `${v.name}: ${v.loginPath}.method is ${v.method} but ${v.settingsPath}`;
        if (v.method === "password" && s.passwordAuthentication === false && s.kbdInteractiveAuthentication !== true) {
            reportViolation(`${at}.passwordAuthentication is false and kbdInteractiveAuthentication is `
                + `${s.kbdInteractiveAuthentication === false ? "false" : "not declared true"}, so the password is never asked for; `
                + "set passwordAuthentication to true or log in with a key.");
        }
        if (v.method === "key" && s.pubkeyAuthentication === false) {
            reportViolation(`${at}.pubkeyAuthentication is false, so the key is never accepted; set pubkeyAuthentication to true or remove it.`);
        }
        const lists = list(s.authenticationMethods).map(String);
        if (lists.length > 0 && !(lists.length === 1 && lists[0] === "any") && !lists.some((l) => completes(l, v.method as "key" | "password"))) {
            reportViolation(`${at}.authenticationMethods ${show(lists)} has no list a ${v.method} alone completes; `
                + `add "${v.method === "key" ? "publickey" : "password"}" as a list of its own or remove authenticationMethods.`);
        }
    },
};
