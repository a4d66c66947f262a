/**
 * What the operator's own ssh client says, sorted into the guide's symptoms. The client's words
 * (`ssh -v`) are the only evidence there is from outside the host; the host's own are the probes'.
 */

export type SymptomKind =
    /** The login worked: a shell ran and printed the user's name. */
    | "ok"
    /** Nothing listens, or a firewall rejects: "Connection refused". */
    | "refused"
    /** Packets are dropped on the way: "Connection timed out" / "Operation timed out". */
    | "timed-out"
    /** The connection is cut before sshd's banner: hosts.deny, MaxStartups, a firewall's reset. */
    | "reset-before-banner"
    /** Authentication ran and failed: "Permission denied (…)". */
    | "permission-denied"
    /** "Too many authentication failures": the server's MaxAuthTries ran out. */
    | "too-many-authentication-failures"
    /** The server offers no method the client has ("No supported authentication methods available"). */
    | "no-supported-method"
    /** The host's key is not the one expected. */
    | "host-key-mismatch"
    /** Authentication passed, then the session ended before a shell ran (a PAM module, the account). */
    | "closed-after-authentication"
    /** No route, no name, or anything else the client printed. */
    | "other";

export interface LoginSymptom {
    readonly kind: SymptomKind;
    readonly ok: boolean;
    /** The client's own line that says it (without "debug1:"), as the operator would quote it. */
    readonly message: string;
    /** The methods the server said could continue, from the client's debug output. */
    readonly methodsOffered: readonly string[];
    /** How many keys or passwords were tried before the end. */
    readonly attempts: number;
}

const patterns: readonly [SymptomKind, RegExp][] = [
    ["host-key-mismatch", /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/],
    ["too-many-authentication-failures", /Too many authentication failures/],
    ["reset-before-banner", /kex_exchange_identification|Connection (reset by peer|closed by remote host)|ssh_exchange_identification/],
    ["refused", /Connection refused/],
    ["timed-out", /timed out/i],
    ["no-supported-method", /No supported authentication methods available|No more authentication methods to try/],
    ["permission-denied", /Permission denied/],
];

/** Classifies one attempt from its exit status and output (run with `-v`). */
export function classifyLogin(r: { code: number | null; stdout: string; stderr: string }, user: string): LoginSymptom {
    const lines = r.stderr.split("\n").map((l) => l.replace(/\r$/, ""));
    const methods = [...new Set(lines.flatMap((l) => {
        const m = /Authentications that can continue: (.*)$/.exec(l);
        return m ? m[1].split(",").map((x) => x.trim()).filter(Boolean) : [];
    }))];
    const attempts = lines.filter((l) => /debug1: (Offering public key|Next authentication method: (password|keyboard-interactive))/.test(l)).length;
    if (r.code === 0 && r.stdout.trim() === user) {
        return { kind: "ok", ok: true, message: "", methodsOffered: methods, attempts };
    }
    // The client's own words, without its debug lines and its end-of-session statistics.
    const said = lines.filter((l) => !l.startsWith("debug") && !l.startsWith("OpenSSH_") && l.trim() !== ""
        && !/^(Warning: Permanently added|Transferred: sent|Bytes per second:|Authenticated to )/.test(l));
    // What the client said to the operator first; its debug lines only when it said nothing known.
    for (const [kind, , line] of [...patterns.map(([k, re]) => [k, re, said.find((l) => re.test(l))] as const),
        ...patterns.map(([k, re]) => [k, re, lines.find((l) => re.test(l))] as const)]) {
        if (line) {
            // "kex_exchange_identification: read: Connection reset by peer" before any banner is
            // the pre-authentication cut; the same words after authentication are not.
            if (kind === "reset-before-banner" && lines.some((l) => /Authenticated to|Authentications that can continue/.test(l))) {
                continue;
            }
            return { kind, ok: false, message: line.replace(/^debug\d: /, ""), methodsOffered: methods, attempts };
        }
    }
    const authenticated = lines.find((l) => /^Authenticated to /.test(l));
    if (authenticated) {
        const why = said[said.length - 1];
        return { kind: "closed-after-authentication", ok: false,
            message: `${authenticated.replace(/\.$/, "")}, then the session ended (exit ${r.code})${why ? `: ${why}` : ""}`, methodsOffered: methods, attempts };
    }
    return { kind: "other", ok: false, message: said[said.length - 1] ?? `ssh exited ${r.code}`, methodsOffered: methods, attempts };
}
