import type { ConcernPlan } from "../core/concern";
import { fromBase64, parseKeyValues } from "../core/compose";
import type { LoginSymptom, SymptomKind } from "./symptoms";

/**
 * From what the probes found to causes: each concern's findings (its drift and refusals) sorted
 * into the guide's catalogue (S1–S15, DESIGN.md) or the gates beyond it (the key file, the
 * account), each with its evidence, the symptoms it gives a client, and what `pulumi up` does
 * about it. Then ranked against the symptom the login attempt actually met.
 */

export type CauseId =
    | "S1" | "S2" | "S3" | "S4" | "S5" | "S6" | "S7" | "S8" | "S9" | "S10" | "S11" | "S12" | "S13" | "S14" | "S15"
    /** The login key is not in the file sshd reads, or that file or a directory above it fails StrictModes. */
    | "login-key"
    /** The account refuses the login (no shell, locked, expired, /etc/nologin). */
    | "account"
    /** sshd_config refuses the login some other way (a Match block, PubkeyAuthentication, AuthorizedKeysFile…). */
    | "sshd-config"
    /** sshd cannot run for a reason other than the catalogue's (host keys, the unit). */
    | "sshd-runtime"
    /** sshd is not running, and no probe found why. */
    | "sshd-down"
    /** Drift that does not refuse the login now (fail2ban's ignoreip lacks the login's sources). */
    | "hardening";

export interface Cause {
    readonly id: CauseId;
    /** The guide's words for it. */
    readonly title: string;
    /** The guide's section (catalogue id and its symptom), or where beyond the guide it belongs. */
    readonly guide: string;
    /** The concern that found it (and that `pulumi up` repairs it with). */
    readonly concern: string;
    /** What on the host says so: file and line, rule and chain, library, account field. */
    readonly evidence: readonly string[];
    /** What `pulumi up` would change, by default or as declared: the `+` lines of the plan. */
    readonly fix: string;
    /** The client symptoms this cause produces. */
    readonly symptoms: readonly SymptomKind[];
    /** False for drift that does not refuse the login. */
    readonly blocking: boolean;
    /** Whether it explains the symptom the login attempt met (false when the login worked). */
    readonly consistent: boolean;
}

const denied: SymptomKind[] = ["permission-denied", "no-supported-method"];

const catalogue: Record<CauseId, { title: string; guide: string; symptoms: SymptomKind[]; fix: string }> = {
    S1: { title: "AllowUsers excludes the user", guide: "S1: Permission denied", symptoms: denied,
        fix: "SshAccess adds the user to AllowUsers (or declare sshd.settings.allowUsers)" },
    S2: { title: "DenyUsers lists the user", guide: "S2: Permission denied", symptoms: denied,
        fix: "SshAccess takes the user out of DenyUsers (or declare sshd.settings.denyUsers)" },
    S3: { title: "AllowGroups excludes the user's groups", guide: "S3: Permission denied", symptoms: denied,
        fix: "SshAccess adds a group of the user to AllowGroups (or declare sshd.settings.allowGroups)" },
    S4: { title: "DenyGroups lists a group of the user", guide: "S4: Permission denied", symptoms: denied,
        fix: "SshAccess takes the user's groups out of DenyGroups (or declare sshd.settings.denyGroups)" },
    S5: { title: "PasswordAuthentication no, and the login has only a password", guide: "S5: No supported authentication methods / Permission denied (publickey)",
        symptoms: denied, fix: "SshAccess turns password authentication on for a password login (or use a key login: login.privateKey)" },
    S6: { title: "hosts.deny blocks sshd for the login's source", guide: "S6: kex_exchange_identification: read: Connection reset by peer",
        symptoms: ["reset-before-banner"], fix: "SshAccess admits the login's sources in hosts.allow (hostsAccess)" },
    S7: { title: "a firewall rule or a fail2ban ban rejects the login's source", guide: "S7: Connection refused / timed out / reset",
        symptoms: ["refused", "timed-out", "reset-before-banner"], fix: "SshAccess admits the login's sources on the SSH port ahead of the rule, and lifts fail2ban bans of them (firewall.allow)" },
    S8: { title: "MaxStartups too low for the unauthenticated connections", guide: "S8: Connection reset / closed",
        symptoms: ["reset-before-banner"], fix: "SshAccess sets MaxStartups to random early drop (or declare sshd.settings.maxStartups)" },
    S9: { title: "SELinux enforcing with ~/.ssh mislabelled", guide: "S9: Permission denied, please try again", symptoms: denied,
        fix: "SshAccess relabels ~/.ssh and keeps SELinux enforcing (selinux)" },
    S10: { title: "PermitRootLogin refuses a root login", guide: "S10: Permission denied", symptoms: denied,
        fix: "SshAccess sets PermitRootLogin prohibit-password for a root key login (or declare sshd.settings.permitRootLogin)" },
    S11: { title: "MaxAuthTries too low for the keys the client offers", guide: "S11: Too many authentication failures",
        symptoms: ["too-many-authentication-failures"], fix: "SshAccess raises MaxAuthTries to the distribution's default (or declare sshd.settings.maxAuthTries); offer one key (IdentitiesOnly)" },
    S12: { title: "a shared library sshd needs is missing", guide: "S12: sshd does not start: error while loading shared libraries",
        symptoms: ["refused"], fix: "SshAccess reinstalls the library's package from the host's package cache (runtime)" },
    S13: { title: "a PAM module /etc/pam.d/sshd names is missing", guide: "S13: PAM unable to dlopen …", symptoms: ["closed-after-authentication", "other", ...denied],
        fix: "SshAccess reinstalls the module's package from the host's package cache (runtime)" },
    S14: { title: "AddressFamily or ListenAddress the host cannot bind", guide: "S14: fatal: Cannot bind any address", symptoms: ["refused"],
        fix: "SshAccess listens on the addresses the host has (or declare sshd.settings.listenAddresses)" },
    S15: { title: "a bad option or bad encoding in sshd_config", guide: "S15: Bad configuration option … terminating", symptoms: ["refused"],
        fix: "SshAccess comments out the lines sshd refuses (or declare sshd.mode replace for a known-good file)" },
    "login-key": { title: "the login key is not accepted from the file sshd reads", guide: "beyond the guide: the key file (Permission denied)", symptoms: denied,
        fix: "SshAccess puts the key's public half in the user's effective AuthorizedKeysFile with the modes StrictModes needs" },
    account: { title: "the account refuses the login", guide: "beyond the guide: the account (Permission denied / closed at once)", symptoms: [...denied, "closed-after-authentication", "other"],
        fix: "declare account.fix (the run reports and stops by default)" },
    "sshd-config": { title: "sshd_config refuses the login", guide: "beyond the guide: sshd_config (Permission denied)", symptoms: denied,
        fix: "SshAccess changes the lines shown" },
    "sshd-runtime": { title: "sshd cannot run", guide: "beyond the guide: sshd's runtime (Connection refused)", symptoms: ["refused"],
        fix: "SshAccess repairs sshd's runtime (runtime)" },
    "sshd-down": { title: "sshd is not running", guide: "S12–S15: Connection refused", symptoms: ["refused"],
        fix: "SshAccess starts sshd once its configuration validates" },
    hardening: { title: "drift that does not refuse the login now", guide: "beyond the guide: hardening", symptoms: [], fix: "SshAccess changes the lines shown" },
};

/** The catalogue's sshd_config keywords: a removed line with one of them is that cause. */
const keywordCause: Record<string, CauseId> = {
    allowusers: "S1", denyusers: "S2", allowgroups: "S3", denygroups: "S4",
    passwordauthentication: "S5", kbdinteractiveauthentication: "S5", challengeresponseauthentication: "S5",
    maxstartups: "S8", permitrootlogin: "S10", maxauthtries: "S11",
    listenaddress: "S14", addressfamily: "S14",
};

/** One drift line of a concern sorted into a cause. */
function causeOfLine(concern: string, line: string): CauseId {
    switch (concern) {
        case "hosts-access": return "S6";
        case "selinux-mode": return "S9";
        case "login-key": return "login-key";
        case "account": return "account";
        case "firewall-allowlist":
            return /ignoreip lacks/.test(line) ? "hardening" : "S7";
        case "sshd-runtime":
            return /shared library/.test(line) ? "S12" : /PAM module/.test(line) ? "S13" : "sshd-runtime";
        case "sshd-config": {
            if (/^sshd is not running/.test(line)) return "sshd-down";
            if (/sshd refused this line/.test(line)) return "S15";
            const m = /^[^:]+: [-+] (?:# sshremedy: )?([A-Za-z]+)/.exec(line);
            return (m && keywordCause[m[1].toLowerCase()]) || "sshd-config";
        }
        default: return "hardening";
    }
}

/** "file: - text" lines of sshd_config drift, with the line number of `text` in that file when the probe printed the file. */
function withLineNumbers(lines: readonly string[], files: ReadonlyMap<string, string[]>): string[] {
    return lines.map((l) => {
        const m = /^(\/[^:]+): - (.*)$/.exec(l);
        const text = m && files.get(m[1]);
        if (!m || !text) return l;
        const i = text.findIndex((t) => t.trim() === m[2].trim());
        return i < 0 ? l : `${m[1]}:${i + 1}: ${m[2]}`;
    });
}

/** The sshd_config files the probe printed (main file and drop-ins), by path, as lines. */
function sshdFiles(probe: string | undefined): Map<string, string[]> {
    const files = new Map<string, string[]>();
    for (const [k, v] of parseKeyValues(probe ?? "")) {
        if (k === "config" && v !== "absent") files.set("/etc/ssh/sshd_config", fromBase64(v).split("\n"));
        if (k === "target" && files.has("/etc/ssh/sshd_config") && v !== "/etc/ssh/sshd_config") {
            files.set(v, files.get("/etc/ssh/sshd_config")!);
        }
        if (k === "dropin") {
            const [p, c] = v.split(" ");
            files.set(fromBase64(p), fromBase64(c ?? "").split("\n"));
        }
    }
    return files;
}

/** Every cause the probes found, unranked. `problems` are the refusals and failures of the probe. */
export function causesOf(plans: ReadonlyMap<string, ConcernPlan>, problems: readonly string[], framed: ReadonlyMap<string, string>): Cause[] {
    const found = new Map<CauseId, { concern: string; evidence: string[]; plus: string[] }>();
    const add = (id: CauseId, concern: string, line: string) => {
        const c = found.get(id) ?? { concern, evidence: [], plus: [] };
        (/^[^:]+: \+ /.test(line) ? c.plus : c.evidence).push(line);
        found.set(id, c);
    };
    const files = sshdFiles(framed.get("sshd-config"));
    for (const [concern, plan] of plans) {
        if (!plan.pending && plan.drift.length === 0) continue;
        if (concern !== "sshd-config") {
            for (const line of plan.drift) add(causeOfLine(concern, line), concern, line);
            continue;
        }
        // sshd_config's drift lists the removed lines, then the added ones. A removed line is its
        // keyword's cause, or S15 when the added lines say sshd refused it; an added line goes
        // with the cause of its keyword when a removed line made that cause, else it is declared
        // drift that refuses nothing.
        // The "+" line quotes the refused line with every character outside printable ASCII as "?"
        // (plan.ts): a bad byte is the fault itself, so the same marking is compared, not less.
        const flat = (t: string) => t.replace(/[^\x20-\x7e]/g, "?");
        const refused = plan.drift.filter((l) => /sshd refused this line/.test(l)).map((l) => l.slice(l.lastIndexOf("): ") + 3));
        const removed = plan.drift.filter((l) => /^[^:]+: - /.test(l));
        const removedIds = new Set<CauseId>();
        for (const line of removed) {
            const id = refused.includes(flat(line.replace(/^[^:]+: - /, ""))) ? "S15" : causeOfLine(concern, line);
            removedIds.add(id);
            add(id, concern, line);
        }
        for (const line of plan.drift.filter((l) => !removed.includes(l))) {
            const id = causeOfLine(concern, line);
            add(/^[^:]+: \+ /.test(line) && !removedIds.has(id) && id !== "S15" ? "hardening" : id, concern, line);
        }
    }
    for (const p of problems) {
        const m = /^([a-z-]+): (.*)$/s.exec(p);
        if (m && m[1] === "account") add("account", "account", m[2]);
        else if (m && ["login-key", "sshd-config", "sshd-runtime", "hosts-access", "firewall-allowlist", "selinux-mode"].includes(m[1])) add(causeOfLine(m[1], m[2]), m[1], m[2]);
    }
    // "sshd is not running" is a consequence when another cause says why.
    if (found.has("sshd-down") && ["S12", "S13", "S14", "S15", "sshd-runtime"].some((id) => found.has(id as CauseId))) {
        const down = found.get("sshd-down")!;
        found.delete("sshd-down");
        for (const id of ["S15", "S14", "S12", "sshd-runtime"] as CauseId[]) {
            if (found.has(id)) {
                found.get(id)!.evidence.push(...down.evidence);
                break;
            }
        }
    }
    return [...found].map(([id, c]) => {
        const k = catalogue[id];
        const evidence = c.concern === "sshd-config" ? withLineNumbers(c.evidence, files) : c.evidence;
        return {
            id, title: k.title, guide: k.guide, concern: c.concern,
            evidence: evidence.length > 0 ? evidence : c.plus,
            fix: c.plus.length > 0 ? `${k.fix}: ${c.plus.map((l) => l.replace(/^([^:]+): \+ /, "$1: ")).join("; ")}` : k.fix,
            symptoms: k.symptoms, blocking: id !== "hardening", consistent: false,
        };
    });
}

/**
 * Most likely first: a cause that gives the symptom the login met before one that does not, one
 * that refuses the login before drift that does not, the guide's own causes before the general ones.
 */
export function rankCauses(causes: readonly Cause[], attempt: LoginSymptom): Cause[] {
    const specific = (id: CauseId) => (/^S\d+$/.test(id) ? 3 : id === "sshd-down" ? 1 : id === "hardening" ? 0 : 2);
    // When sshd refuses before authentication, an sshd_config rule about users is not what the client met.
    const score = (c: Cause) => (c.symptoms.includes(attempt.kind) ? 100 : 0) + (c.blocking ? 50 : 0) + specific(c.id) * 10;
    return causes.map((c) => ({ ...c, consistent: c.symptoms.includes(attempt.kind) }))
        .sort((a, b) => score(b) - score(a) || catalogueOrder(a.id) - catalogueOrder(b.id));
}

function catalogueOrder(id: CauseId): number {
    const n = /^S(\d+)$/.exec(id);
    return n ? Number(n[1]) : 100;
}
