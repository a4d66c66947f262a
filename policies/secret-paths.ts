/**
 * Which inputs of a resource are Pulumi secrets. @pulumi/policy 1.21 unwraps secrets before
 * `validateResource` sees the props (deserializeProperties(..., false) in its analyze RPC), so a
 * policy cannot tell `pulumi.secret(key)` from a plain string. The engine does send the secret
 * markers; this module wraps the pack's deserializer to record the paths they were on, and
 * attaches them to the props under a hidden key. It relies on that internal function: where it is
 * missing, `secretPathsOf` returns undefined and the policy that needs it says it cannot judge.
 */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** The hidden key on props: a string (proxies pass strings through untouched), paths joined by newlines. */
export const SECRET_PATHS = "__sshremedySecretPaths";

/** Paths (`target.privateKey`, `create`) under which the raw, still-marked properties hold a secret. */
export function secretPaths(raw: unknown, at = ""): string[] {
    if (Array.isArray(raw)) return raw.flatMap((x, i) => secretPaths(x, `${at}[${i}]`));
    if (typeof raw !== "object" || raw === null) return [];
    const o = raw as Record<string, unknown>;
    if (o[SIG_KEY] === SECRET_SIG) return [at];
    return Object.entries(o).flatMap(([k, x]) => secretPaths(x, at === "" ? k : `${at}.${k}`));
}

/** Attaches the secret paths to deserialized props. */
export function markSecretPaths(props: object, paths: readonly string[]): object {
    Object.defineProperty(props, SECRET_PATHS, { value: paths.join("\n"), enumerable: false });
    return props;
}

/** The secret paths of a resource's props, or undefined when nothing recorded them. */
export function secretPathsOf(props: Record<string, unknown>): string[] | undefined {
    const joined = props[SECRET_PATHS];
    return typeof joined === "string" ? joined.split("\n").filter(Boolean) : undefined;
}

/** `path` is a secret itself or lies inside one. */
export function isSecretPath(path: string, secrets: readonly string[]): boolean {
    return secrets.some((s) => path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`));
}

let installed = false;

/** Wraps @pulumi/policy's deserializer once; returns whether secret paths are now recorded. */
export function recordSecretPaths(): boolean {
    if (installed) return true;
    const mod = require("@pulumi/policy/deserialize") as { deserializeProperties?: (s: { toJavaScript(): unknown }, p: boolean) => object };
    const original = mod.deserializeProperties;
    if (typeof original !== "function") return false;
    mod.deserializeProperties = (struct, proxySecrets) =>
        markSecretPaths(original(struct, proxySecrets), secretPaths(struct.toJavaScript()));
    installed = true;
    return true;
}
