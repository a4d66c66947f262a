import type { ResourceValidationArgs } from "@pulumi/policy";

/**
 * What the pack reads of our components. The type tokens are the components' own (a unit test
 * holds them equal); the props are exactly what `declarationInputs` (SshAccess) and the
 * SshdConfig constructor send: the declaration, with keys and passwords reduced to the method.
 */
export const sshAccessType = "sshremedy:index:SshAccess";
export const sshdConfigType = "sshremedy:index:SshdConfig";
/** A HostCommand (components/core/transport.ts): a raw script the policies can still judge. */
export const hostCommandType = "pulumi-nodejs:dynamic/sshremedy:HostCommand";

type Props = Record<string, unknown>;

/** The login a declaration must leave working, and the sshd settings it declares, with the fields' names for messages. */
export interface LoginView {
    readonly name: string;
    readonly user: string;
    readonly method: "key" | "password" | "none";
    readonly address: string;
    readonly port: number;
    /** The login's sources (SshAccess only); the first is the verifying source. */
    readonly sources: readonly string[];
    /** Declared sshd settings (global ones; Match blocks are under `.match`). */
    readonly settings: Props;
    /** Where each of those lives in the declaration: `sshd.settings` / `login` or `settings` / `verify`. */
    readonly settingsPath: string;
    readonly loginPath: string;
    readonly addressField: string;
}

const obj = (v: unknown): Props => (typeof v === "object" && v !== null ? v as Props : {});
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** The login and settings of an SshAccess or SshdConfig; undefined for any other resource. */
export function loginView(args: Pick<ResourceValidationArgs, "type" | "name" | "props">): LoginView | undefined {
    const p = args.props;
    if (args.type === sshAccessType) {
        const login = obj(p.login);
        const settings = obj(obj(p.sshd).settings);
        // Getters: a value that comes from another resource is unknown in preview, and the policy
        // SDK fails a policy that reads one; each policy reads only what it judges.
        return {
            name: args.name, method: login.method as LoginView["method"],
            get user() { return str(login.user); },
            get address() { return str(login.address); },
            get port() {
                return typeof login.port === "number" ? login.port : typeof settings.port === "number" ? settings.port : 22;
            },
            get sources() { return Array.isArray(login.sources) ? login.sources.map(str) : []; },
            settings, settingsPath: "sshd.settings", loginPath: "login", addressField: "login.address",
        };
    }
    if (args.type === sshdConfigType) {
        const verify = obj(p.verify);
        const settings = obj(p.settings);
        return {
            name: args.name, method: verify.method as LoginView["method"],
            get user() { return str(verify.user); },
            get address() { return str(verify.host); },
            get port() { return typeof verify.port === "number" ? verify.port : typeof settings.port === "number" ? settings.port : 22; },
            sources: [], settings, settingsPath: "settings", loginPath: "verify", addressField: "verify.host",
        };
    }
    return undefined;
}

/** sshd_config(5) PATTERNS: `*` and `?` wildcards. */
export function patternMatches(pattern: string, name: string): boolean {
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
    return re.test(name);
}

/**
 * The first pattern of a list that names `name` (user@host patterns judged by the user part, as
 * the host part can only narrow), unless a `!pattern` excludes it; undefined when none does.
 */
export function matchingPattern(patterns: readonly unknown[], name: string): string | undefined {
    const names = patterns.map((p) => str(p).split("@")[0]);
    if (names.some((p) => p.startsWith("!") && patternMatches(p.slice(1), name))) return undefined;
    const i = names.findIndex((p) => !p.startsWith("!") && patternMatches(p, name));
    return i < 0 ? undefined : str(patterns[i]);
}

export const list = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : []);
export const show = (v: unknown): string => JSON.stringify(v);
