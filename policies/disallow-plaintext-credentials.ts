import { ResourceValidationPolicy } from "@pulumi/policy";
import { isSecretPath, secretPathsOf } from "./secret-paths";

const CREDENTIAL_FIELD = /^(privateKey|password|passphrase)$/;
/** @pulumi/policy's props proxy hands out its target under this key (proxy.js getSpecialProxyTarget). */
const PROXY_TARGET = "__getSpecialProxyTarget";
const PEM_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/** Every credential in a resource's inputs: a field named like one, or any text holding a PEM private key. */
export function credentials(value: unknown, at = ""): Array<{ path: string; what: string }> {
    if (Array.isArray(value)) return value.flatMap((x, i) => credentials(x, `${at}[${i}]`));
    if (typeof value === "object" && value !== null) {
        return Object.entries(value).filter(([k]) => k !== "__provider").flatMap(([k, x]) => {
            const path = at === "" ? k : `${at}.${k}`;
            if (CREDENTIAL_FIELD.test(k) && typeof x === "string" && x !== "") return [{ path, what: k === "privateKey" ? "a private key" : `a ${k}` }];
            return credentials(x, path);
        });
    }
    return typeof value === "string" && PEM_KEY.test(value) ? [{ path: at, what: "a private key" }] : [];
}

/**
 * A key or password given as a plain string is stored in the state file in clear text and may
 * be printed in a diff; as a Pulumi secret it is encrypted. Our components never put credentials
 * in their own inputs (only the method), so this judges the resources that carry them (the host
 * pipeline's and HostCommand's dynamic resources) and any resource with such fields.
 */
export const disallowPlaintextCredentials: ResourceValidationPolicy = {
    name: "sshremedy-disallow-plaintext-credentials",
    description: "Private keys and passwords in resource inputs are Pulumi secrets.",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        // The proxy's own target: walking through the proxy would stop at the first value unknown in preview.
        const props = (args.props as Record<string, unknown>)[PROXY_TARGET] as Record<string, unknown> | undefined ?? args.props;
        const found = credentials(props);
        if (found.length === 0) return;
        const secrets = secretPathsOf(props);
        if (secrets === undefined) {
            args.notApplicable("this @pulumi/policy does not tell policies which inputs are secrets");
        }
        for (const c of found) {
            if (!isSecretPath(c.path, secrets ?? [])) {
                reportViolation(`${args.name}: ${c.path} holds ${c.what} as plain text, stored unencrypted in the state; `
                    + "pass it as a Pulumi secret (pulumi.secret(...) or config.requireSecret(...)).");
            }
        }
    },
};
