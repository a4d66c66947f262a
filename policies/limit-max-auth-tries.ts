import { ResourceValidationPolicy } from "@pulumi/policy";
import { loginView } from "./declaration";
import { declaredValues } from "./settings-values";

interface Config {
    readonly maxAuthTries?: number;
}

export const DEFAULT_MAX_AUTH_TRIES = 6;

/** Many tries per connection give a password guesser more guesses per connection. */
export const limitMaxAuthTries: ResourceValidationPolicy = {
    name: "sshremedy-sshd-limit-max-auth-tries",
    description: "MaxAuthTries (global and in Match blocks) is at most a threshold (default 6, sshd's own default).",
    enforcementLevel: "advisory",
    configSchema: {
        properties: { maxAuthTries: { type: "integer", minimum: 1, maximum: 50, default: DEFAULT_MAX_AUTH_TRIES } },
    },
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        if (!v) return;
        const limit = args.getConfig<Config>().maxAuthTries ?? DEFAULT_MAX_AUTH_TRIES;
        for (const { path, value } of declaredValues(v.settings, v.settingsPath, "maxAuthTries")) {
            if (typeof value === "number" && value > limit) {
                reportViolation(`${v.name}: ${path} is ${value}, above ${limit} (policy config maxAuthTries), which gives a password guesser `
                    + `${value} guesses per connection; lower it to ${limit} or less.`);
            }
        }
    },
};
