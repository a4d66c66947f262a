import { lineKeyword } from "./keywords";
import type { SshdSettings } from "./validate";

/** The login that must get in: the verifying user and method. */
export interface AdmitLogin {
    readonly user: string;
    readonly method: "key" | "password";
    /** The user's groups on the host, primary first (`id -Gn`). */
    readonly groups: readonly string[];
    /** Addresses the host holds (so a ListenAddress it does not hold can be told apart). */
    readonly hostAddresses: readonly string[];
    /** The address the verifying login connects to. */
    readonly address: string;
}

/** Global directives of an sshd_config text (before the first Match), by lowercase keyword. */
export function globalValues(text: string): Map<string, string[][]> {
    const out = new Map<string, string[][]>();
    for (const raw of text.split("\n")) {
        const line = raw.replace(/\s+#.*$/, "").trim();
        const k = lineKeyword(line);
        if (!k || line.startsWith("#")) {
            continue;
        }
        if (k === "match") {
            break;
        }
        const args = line.split(/[\s=]+/).slice(1).filter(Boolean);
        out.set(k, [...(out.get(k) ?? []), args]);
    }
    return out;
}

/** sshd_config(5) PATTERNS: `*` and `?` wildcards, a leading `!` negates. */
function patternMatches(pattern: string, name: string): boolean {
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
    return re.test(name);
}

function listMatches(patterns: readonly string[], name: string): boolean {
    // A user pattern may be user@host: only the user part is judged here (the host part could admit).
    const names = patterns.map((p) => p.split("@")[0]);
    return names.some((p) => !p.startsWith("!") && patternMatches(p, name))
        && !names.some((p) => p.startsWith("!") && patternMatches(p.slice(1), name));
}

/**
 * The least change to the host's current sshd_config that lets the declared login in: the user
 * added to an AllowUsers/AllowGroups that leaves it out, removed from Deny lists, the login's
 * method switched on, limits raised to sshd's defaults where they are lower, and listen
 * addresses the host cannot bind dropped. Directives that already admit the login are left alone.
 */
export function admitSettings(currentText: string, login: AdmitLogin): SshdSettings {
    const g = globalValues(currentText);
    const flat = (k: string) => (g.get(k) ?? []).flat();
    const first = (k: string) => g.get(k)?.[0]?.[0];
    const s: Record<string, unknown> = {};

    const allowUsers = flat("allowusers");
    if (allowUsers.length > 0 && !listMatches(allowUsers, login.user)) {
        s.allowUsers = [...allowUsers, login.user];
    }
    const denyUsers = flat("denyusers");
    if (denyUsers.some((p) => listMatches([p], login.user))) {
        const rest = denyUsers.filter((p) => !listMatches([p], login.user));
        s.denyUsers = rest.length > 0 ? rest : null;
    }
    const allowGroups = flat("allowgroups");
    if (allowGroups.length > 0 && !login.groups.some((gr) => listMatches(allowGroups, gr))) {
        s.allowGroups = [...allowGroups, login.groups[0] ?? login.user];
    }
    const denyGroups = flat("denygroups");
    if (denyGroups.some((p) => login.groups.some((gr) => listMatches([p], gr)))) {
        const rest = denyGroups.filter((p) => !login.groups.some((gr) => listMatches([p], gr)));
        s.denyGroups = rest.length > 0 ? rest : null;
    }

    if (login.method === "password") {
        // Explicit, so the policy pack sees it: password logins are on because the login needs them.
        if (first("passwordauthentication") === "no") {
            s.passwordAuthentication = true;
        }
    } else if (first("pubkeyauthentication") === "no") {
        s.pubkeyAuthentication = true;
    }
    if (login.user === "root") {
        const prl = first("permitrootlogin");
        if (login.method === "password" && prl !== "yes") {
            s.permitRootLogin = "yes";
        } else if (login.method === "key" && (prl === "no" || prl === "forced-commands-only")) {
            s.permitRootLogin = "prohibit-password";
        }
    }

    const tries = Number(first("maxauthtries"));
    if (Number.isFinite(tries) && tries < 6) {
        s.maxAuthTries = 6;
    }
    const startups = first("maxstartups");
    if (startups !== undefined && Number(startups.split(":")[0]) < 10) {
        s.maxStartups = "10:30:100";
    }

    const ipv4 = /^\d+\.\d+\.\d+\.\d+$/.test(login.address);
    const family = first("addressfamily");
    if ((family === "inet6" && ipv4) || (family === "inet" && !ipv4)) {
        s.addressFamily = "any";
    }
    const listen = flat("listenaddress");
    const bindable = (a: string) => {
        const host = a.startsWith("[") ? a.slice(1, a.indexOf("]")) : a.split(":").length === 2 ? a.split(":")[0] : a;
        return host === "0.0.0.0" || host === "::" || login.hostAddresses.includes(host);
    };
    if (listen.length > 0 && !listen.every(bindable)) {
        const kept = listen.filter(bindable);
        s.listenAddress = kept.length > 0 ? kept : ["0.0.0.0", ...(login.hostAddresses.some((a) => a.includes(":") && !a.startsWith("fe80")) ? ["::"] : [])];
    }
    return s as SshdSettings;
}
