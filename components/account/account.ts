import * as path from "path";
import type { Concern, ConcernPlan } from "../core/concern";
import { fromBase64, lastValue, parseKeyValues, type Step } from "../core/compose";
import { DeclarationError } from "../core/errors";
import { checkUser } from "../declaration";
import { LONE_SURROGATE } from "../core/quote";

/**
 * Account: the gate of the login path that is the account itself. sshd admits the key (or the
 * password) and still refuses the login when the account cannot be used: no such account, a shell
 * that does not run or refuses (nologin, false), a locked password entry where sshd runs without
 * PAM, an expiry date that has passed, a password PAM says must change first, or /etc/nologin.
 * What the declaration allows is fixed; anything else is reported with the command that fixes it,
 * and the run stops before anything changes. Accounts are never created.
 *
 * What refuses a key login, measured on Debian 12 (OpenSSH 9.2p1, Linux-PAM 1.5.2):
 *
 * | the account                              | UsePAM yes                        | UsePAM no                 |
 * |------------------------------------------|-----------------------------------|---------------------------|
 * | shell missing or not executable          | refused (Permission denied)       | refused                   |
 * | shell /usr/sbin/nologin, /bin/false      | session ends at once (exit 1)     | same                      |
 * | shell executable, not in /etc/shells     | works                             | works                     |
 * | password field `!…` (usermod -L)         | works                             | refused (Permission denied) |
 * | password field `*`, `*LK*`               | works                             | works                     |
 * | account expiry reached (chage -E 0)      | refused ("account has expired")   | refused                   |
 * | password must change (chage -d 0)        | refused ("no TTY available")      | works                     |
 * | password aged past max + inactive        | refused ("account has expired")   | works                     |
 * | /etc/nologin                             | refused, its text shown; root in  | same (sshd's own check)   |
 * | /var/run/nologin                         | refused (pam_nologin); root in    | works                     |
 */

export const PASSWD_PATH = "/etc/passwd";
export const SHADOW_PATH = "/etc/shadow";
export const NOLOGIN_PATH = "/etc/nologin";
/** pam_nologin's own file (Linux-PAM's DEFAULT_NOLOGIN_PATH; /run/nologin where /var/run is /run). */
export const RUN_NOLOGIN_PATH = "/var/run/nologin";

export interface AccountArgs {
    /** The login user: the account that must be usable. Set by the caller (SshAccess: `login.user`). */
    readonly user: string;
    /**
     * How the login authenticates: a lock (`!`) refuses a password login always, a key login only
     * where sshd runs with UsePAM no. Set by the caller (SshAccess: the login's method). Defaults to `key`.
     */
    readonly method?: "key" | "password";
    /**
     * A login shell to set when the account's shell is not one a login can use (missing, not
     * executable, or nologin / false). It must be an absolute path that the host lists in
     * /etc/shells and can execute; the plan refuses otherwise, with a report. The shell of an
     * account whose shell works is never changed. Defaults to none: an unusable shell is reported.
     */
    readonly shell?: string;
    /**
     * Unlock a locked password entry (`usermod -U`, passwd -u semantics; an entry that is nothing
     * but `!` becomes `*`) where the lock refuses the declared login, and clear an account expiry
     * date that has passed (`chage -E -1`). Defaults to false: a lock or an expiry that refuses
     * the login is reported.
     */
    readonly unlock?: boolean;
    /**
     * Remove /etc/nologin (and pam_nologin's /var/run/nologin where sshd runs with PAM), which
     * make sshd refuse every login but root's. Defaults to false: a nologin file is reported.
     */
    readonly removeNologin?: boolean;
}

export interface AccountProbe {
    readonly account: boolean;
    readonly uid: number;
    readonly gid: number;
    readonly home: string;
    /** The passwd field as written (may be empty: sshd then runs /bin/sh). */
    readonly shell: string;
    readonly shellPresent: boolean;
    readonly shellExecutable: boolean;
    readonly shellListed: boolean;
    /** For the declared shell, when one was declared (the probe checked it on the host). */
    readonly declaredShell?: { readonly executable: boolean; readonly listed: boolean };
    /** A login shell the host lists and has (/bin/bash first), or "" when it has none. */
    readonly suggestShell: string;
    readonly shadow: boolean;
    readonly locked: boolean;
    /** The password field is nothing but `!`: unlocking would leave it empty. */
    readonly lockOnly: boolean;
    /** Shadow fields in days since the epoch; null when empty (unset). */
    readonly lastChange: number | null;
    readonly maxDays: number | null;
    readonly inactiveDays: number | null;
    readonly expiryDays: number | null;
    readonly today: number;
    /** The probe's own verdict on the expiry day, as pam_unix counts (today ≥ expiry). */
    readonly expired: boolean;
    readonly usePam: "yes" | "no" | "unknown";
    /** First line of /etc/nologin, or null when there is none. */
    readonly nologin: string | null;
    /** First line of /var/run/nologin, or null when there is none. */
    readonly runNologin: string | null;
}

export function parseAccountProbe(stdout: string): AccountProbe {
    const kv = parseKeyValues(stdout);
    const get = (k: string) => lastValue(kv, k);
    const account = get("account");
    if (account !== "present" && account !== "absent") {
        throw new Error(`account probe printed no account= line: ${stdout.slice(0, 200)}`);
    }
    const yes = (k: string) => get(k) === "yes";
    const num = (k: string): number | null => {
        const v = get(k);
        return v === undefined || v === "" || !/^-?\d+$/.test(v) ? null : Number(v);
    };
    const text = (k: string) => (yes(k) ? fromBase64(get(`${k}_text`) ?? "").replace(/\n$/, "") : null);
    const usePam = get("usepam");
    return {
        account: account === "present",
        uid: num("uid") ?? -1,
        gid: num("gid") ?? -1,
        home: get("home") ?? "",
        shell: get("shell") ?? "",
        shellPresent: yes("shell_present"),
        shellExecutable: yes("shell_executable"),
        shellListed: yes("shell_listed"),
        declaredShell: get("declared_shell_executable") === undefined ? undefined
            : { executable: yes("declared_shell_executable"), listed: yes("declared_shell_listed") },
        suggestShell: get("suggest_shell") ?? "",
        shadow: get("shadow") === "present",
        locked: yes("shadow_locked"),
        lockOnly: yes("shadow_lock_only"),
        lastChange: num("last_change"),
        maxDays: num("max_days"),
        inactiveDays: num("inactive_days"),
        expiryDays: num("expiry_days"),
        today: num("today") ?? Math.floor(Date.now() / 86_400_000),
        expired: yes("expired"),
        usePam: usePam === "yes" || usePam === "no" ? usePam : "unknown",
        nologin: text("nologin"),
        runNologin: text("run_nologin"),
    };
}

/** The declaration with every value checked. */
interface Checked {
    readonly user: string;
    readonly method: "key" | "password";
    readonly shell?: string;
    readonly unlock: boolean;
    readonly removeNologin: boolean;
}

/** Shells that run and end the session at once: never a login shell, whatever /etc/shells says. */
const REFUSING_SHELLS = new Set(["nologin", "false"]);

function validate(args: AccountArgs): Checked {
    const user = checkUser("user", args.user);
    if (args.method !== undefined && args.method !== "key" && args.method !== "password") {
        throw new DeclarationError("method", `'${String(args.method)}' is not a login method`, "use \"key\" or \"password\"");
    }
    const shell = args.shell;
    if (shell !== undefined) {
        if (typeof shell !== "string" || !/^\/[^\s:\0]+$/.test(shell) || LONE_SURROGATE.test(shell) || shell.endsWith("/")
            || shell.split("/").some((s) => s === "." || s === "..") || shell.length > 256) {
            throw new DeclarationError("shell", `'${String(shell)}' is not the absolute path of a shell`,
                "give a shell the host lists in /etc/shells, e.g. \"/bin/bash\"");
        }
        if (REFUSING_SHELLS.has(path.posix.basename(shell))) {
            throw new DeclarationError("shell", `'${shell}' is not a login shell: it ends every session at once`,
                "give a shell the host lists in /etc/shells, e.g. \"/bin/bash\"");
        }
    }
    for (const key of ["unlock", "removeNologin"] as const) {
        if (args[key] !== undefined && typeof args[key] !== "boolean") {
            throw new DeclarationError(key, `'${String(args[key])}' is not true or false`, `set ${key} to true or false, or leave it out`);
        }
    }
    return { user, method: args.method ?? "key", shell, unlock: args.unlock ?? false, removeNologin: args.removeNologin ?? false };
}

/** Day `n` since the epoch as YYYY-MM-DD. */
const isoDay = (n: number) => new Date(n * 86_400_000).toISOString().slice(0, 10);

/** A plan, plus what blocks the login and the declaration does not allow to fix (each line also in `drift`). */
export interface AccountPlan extends ConcernPlan {
    /** Problems that block the declared login and are not fixed: `plan()` throws with these. */
    readonly reports: readonly string[];
}

/**
 * Pure: for each problem that blocks the declared login, the fix the declaration allows or a
 * report naming the cause and the command that fixes it. A problem that may block (sshd could not
 * say whether it runs with PAM) is a drift line only, unless the declaration fixes it anyway.
 */
export function planAccount(probe: AccountProbe, args: AccountArgs): AccountPlan {
    const c = validate(args);
    const u = c.user;
    const who = `account ${u}`;
    const drift: string[] = [];
    const reports: string[] = [];
    const env: Record<string, string> = { SR_USER: u };
    const paths = new Set<string>();
    const report = (line: string) => {
        drift.push(line);
        reports.push(line);
    };

    if (!probe.account) {
        report(`${who}: no such account on the host (getent passwd ${u} finds none), and sshremedy never creates one; `
            + `fix by hand: useradd -m -s ${probe.suggestShell || "/bin/sh"} ${u}, or declare the login user that exists`);
        return { pending: false, drift, reports, paths: [], apply: [], restartSshd: false };
    }

    // The shell sshd runs: missing or not executable, sshd refuses; nologin and false run and quit.
    const shell = probe.shell || "/bin/sh";
    const shellProblem = !probe.shellPresent ? `shell ${shell} does not exist, so sshd refuses the login`
        : !probe.shellExecutable ? `shell ${shell} is not executable, so sshd refuses the login`
            : REFUSING_SHELLS.has(path.posix.basename(shell)) ? `shell ${shell} is not a login shell` : undefined;
    if (shellProblem) {
        const want = c.shell;
        const d = probe.declaredShell;
        if (want !== undefined && d?.listed && d.executable) {
            drift.push(`${who}: ${shellProblem}; fixing: usermod -s ${want} ${u}`);
            env.SR_SHELL = want;
            paths.add(PASSWD_PATH).add(SHADOW_PATH);
        } else {
            const s = probe.suggestShell || "<a shell listed in /etc/shells>";
            const unfit = want === undefined ? "" : `, and the declared shell ${want} ${!d ? "was not checked on the host"
                : [!d.listed && "is not listed in /etc/shells", !d.executable && "is not an executable file"].filter(Boolean).join(" and ")}`;
            report(`${who}: ${shellProblem}${unfit}; fix by hand: usermod -s ${s} ${u}, or declare account: { shell: "${s}" }`);
        }
    }

    if (probe.shadow) {
        // A lock: pam_unix refuses a password against it; sshd without PAM refuses every method
        // for an account whose password field starts with '!' (Linux builds: '!' only, not *LK*).
        if (probe.locked) {
            const blocks = c.method === "password" || probe.usePam === "no";
            const maybe = !blocks && probe.usePam === "unknown";
            const why = c.method === "password" ? ", so the password login cannot succeed"
                : probe.usePam === "no" ? " and sshd runs with UsePAM no, which refuses key logins to locked accounts"
                    : " and sshd -T could not run to say whether UsePAM is on (with UsePAM no sshd refuses key logins to locked accounts)";
            const lock = `password entry is locked (it starts with !)${why}`;
            const cmd = probe.lockOnly ? `usermod -p '*' ${u}` : `usermod -U ${u}`;
            if (c.method === "password" && probe.lockOnly) {
                report(`${who}: password entry is locked and holds no password to unlock, so the password login cannot succeed; `
                    + `fix by hand: passwd ${u}`);
            } else if ((blocks || maybe) && c.unlock) {
                drift.push(`${who}: ${lock}; fixing: ${cmd}`);
                env.SR_UNLOCK = "yes";
                paths.add(PASSWD_PATH).add(SHADOW_PATH);
            } else if (blocks) {
                report(`${who}: ${lock}; fix by hand: ${cmd}, or declare account: { unlock: true }`);
            } else if (maybe) {
                drift.push(`${who}: ${lock}; if the login fails: ${cmd}, or declare account: { unlock: true }`);
            }
        }

        // The account's expiry: pam_unix refuses from the expiry day on, sshd without PAM the day after.
        const e = probe.expiryDays;
        if (e !== null && e >= 0 && (probe.usePam === "no" ? probe.today > e : probe.today >= e)) {
            const expired = `expired on ${isoDay(e)} (shadow expiry day ${e}; today is day ${probe.today})`;
            if (c.unlock) {
                drift.push(`${who}: ${expired}; fixing: chage -E -1 ${u}`);
                env.SR_EXPIRE_CLEAR = "yes";
                paths.add(PASSWD_PATH).add(SHADOW_PATH);
            } else {
                report(`${who}: ${expired}; fix by hand: chage -E -1 ${u}, or declare account: { unlock: true }`);
            }
        }

        // Password aging, which pam_unix enforces on key logins too (sshd without PAM does not).
        const aging = passwordAging(probe);
        if (aging && probe.usePam !== "no") {
            const fix = `fix by hand: chage -d ${isoDay(probe.today)} ${u} (or set a new password: passwd ${u})`;
            const line = `${who}: ${aging}, which PAM enforces on key logins too`;
            if (probe.usePam === "yes") report(`${line}; ${fix}`);
            else drift.push(`${line}, if sshd runs with UsePAM yes (sshd -T could not run to say); if the login fails, ${fix}`);
        }
    }

    // The nologin files let root in (pam_nologin and sshd both skip uid 0).
    if (probe.uid !== 0) {
        const files = [
            { file: NOLOGIN_PATH, text: probe.nologin, key: "SR_REMOVE_NOLOGIN", blocks: true, maybe: false },
            { file: RUN_NOLOGIN_PATH, text: probe.runNologin, key: "SR_REMOVE_RUN_NOLOGIN", blocks: probe.usePam === "yes", maybe: probe.usePam === "unknown" },
        ];
        for (const f of files.filter((x) => x.text !== null)) {
            const what = `${f.file} exists (${JSON.stringify(f.text)}), so ${f.file === NOLOGIN_PATH ? "every login but root's is refused"
                : `pam_nologin refuses every login but root's${f.maybe ? " if sshd runs with UsePAM yes (sshd -T could not run to say)" : ""}`}`;
            if ((f.blocks || f.maybe) && c.removeNologin) {
                drift.push(`${who}: ${what}; fixing: rm ${f.file}`);
                env[f.key] = "yes";
                paths.add(f.file);
            } else if (f.blocks) {
                report(`${who}: ${what}; fix by hand: rm ${f.file}, or declare account: { removeNologin: true }`);
            } else if (f.maybe) {
                drift.push(`${who}: ${what}; if the login fails: rm ${f.file}, or declare account: { removeNologin: true }`);
            }
        }
    }

    const pending = Object.keys(env).length > 1;
    const apply: Step[] = pending ? [{ script: "account/apply", env }] : [];
    return { pending, drift, reports, paths: pending ? [...paths] : [], apply, restartSshd: false };
}

/** What pam_unix's account check says of the password's age (passverify.c check_shadow_expiry), if it refuses. */
function passwordAging(p: AccountProbe): string | undefined {
    const last = p.lastChange ?? -1;
    const max = p.maxDays ?? -1;
    const inactive = p.inactiveDays ?? -1;
    if (last === 0) return "must change its password before it may log in (shadow last change is day 0: chage -d 0 or passwd -e)";
    if (p.today < last || max === -1) return undefined;
    const age = p.today - last;
    if (age <= max) return undefined;
    const expiredOn = `password expired on ${isoDay(last + max)} (last changed ${isoDay(last)}, maximum age ${max} days)`;
    return inactive !== -1 && age > max + inactive
        ? `${expiredOn} and its inactive period of ${inactive} days has passed, so PAM takes the account for expired`
        : `${expiredOn}, so it must change its password before it may log in`;
}

/** The account gate of the login path: see the module comment. */
export function accountConcern(args: AccountArgs): Concern {
    const checked = validate(args);
    return {
        name: "account",
        probe: { script: "account/probe", env: { SR_USER: checked.user, ...(checked.shell ? { SR_SHELL: checked.shell } : {}) } },
        plan: (out) => {
            const p = planAccount(parseAccountProbe(out), args);
            if (p.reports.length > 0) throw new Error(p.reports.join("\n"));
            return p;
        },
        declaration: {
            user: checked.user, method: checked.method, shell: checked.shell ?? null, unlock: checked.unlock, removeNologin: checked.removeNologin,
        },
    };
}
