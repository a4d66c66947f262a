import { ResourceValidationPolicy } from "@pulumi/policy";
import { list, loginView, matchingPattern, show } from "./declaration";

interface Config {
    /** user → the groups it has on the hosts (primary first), so AllowGroups/DenyGroups can be judged. */
    readonly userGroups?: Readonly<Record<string, readonly string[]>>;
}

/**
 * The declared AllowUsers/DenyUsers/AllowGroups/DenyGroups must let the login in: SshAccess lets
 * declared settings win over the ones it adds for the login, and SshdConfig only finds out at the
 * verifying login, after the restart. A user's groups live on the host, so group lists are judged
 * only for users listed in the `userGroups` config, and otherwise only where a DenyGroups pattern
 * matches every group.
 */
export const disallowExcludedLoginUser: ResourceValidationPolicy = {
    name: "sshremedy-sshd-disallow-excluded-login-user",
    description: "The declared AllowUsers/AllowGroups admit the login's user and DenyUsers/DenyGroups do not name it.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            userGroups: { type: "object", additionalProperties: { type: "array", items: { type: "string" } }, default: {} },
        },
    },
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        if (!v) return;
        const s = v.settings;
        const at = `${v.name}: ${v.settingsPath}`;
        const who = `${v.loginPath}.user '${v.user}'`;
        if (Array.isArray(s.allowUsers) && matchingPattern(s.allowUsers, v.user) === undefined) {
            reportViolation(`${at}.allowUsers ${show(s.allowUsers)} does not admit ${who}, so sshd refuses the login; `
                + `add '${v.user}' to allowUsers or set allowUsers to null.`);
        }
        for (const p of list(s.denyUsers)) {
            if (matchingPattern([p], v.user) !== undefined) {
                reportViolation(`${at}.denyUsers pattern '${p}' refuses ${who}; remove it from denyUsers.`);
            }
        }
        const groups = args.getConfig<Config>().userGroups?.[v.user];
        if (groups) {
            if (Array.isArray(s.allowGroups) && !groups.some((g) => matchingPattern(s.allowGroups as unknown[], g) !== undefined)) {
                reportViolation(`${at}.allowGroups ${show(s.allowGroups)} admits none of the groups ${show(groups)} of ${who} `
                    + "(policy config userGroups); add one of them to allowGroups or set allowGroups to null.");
            }
            for (const p of list(s.denyGroups)) {
                const g = groups.find((gr) => matchingPattern([p], gr) !== undefined);
                if (g !== undefined) {
                    reportViolation(`${at}.denyGroups pattern '${p}' refuses group '${g}' of ${who}; remove it from denyGroups.`);
                }
            }
            return;
        }
        for (const p of list(s.denyGroups)) {
            if (typeof p === "string" && /^\*+$/.test(p)) {
                reportViolation(`${at}.denyGroups pattern '${p}' refuses every user (each has a primary group), ${who} too; remove it from denyGroups.`);
            }
        }
    },
};
