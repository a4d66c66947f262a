import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    accountConcern, parseAccountProbe, planAccount, type AccountArgs,
} from "../../../components/account/account";
import { DeclarationError } from "../../../components/core/errors";

/**
 * Probe outputs printed by components/account/probe.sh on a Debian 12 test host (OpenSSH 9.2p1):
 * probe-healthy.txt, the stock host for alice; probe-broken-nopam.txt, alice after
 * `usermod -s /usr/sbin/nologin alice; usermod -L alice; chage -E 0 alice`, /etc/nologin holding
 * "down for maintenance" and `UsePAM no` in a drop-in, probed with SR_SHELL=/bin/bash;
 * probe-absent.txt, the same host probed for a user it does not have.
 */
const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", name), "utf8");
const healthy = fixture("probe-healthy.txt");
const broken = fixture("probe-broken-nopam.txt");
const absent = fixture("probe-absent.txt");
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The healthy probe with some lines replaced (or added); null drops a line. */
function probeText(over: Record<string, string | null>, base = healthy): string {
    const lines = base.trim().split("\n").map((l) => {
        const k = l.slice(0, l.indexOf("="));
        return k in over ? (over[k] === null ? undefined : `${k}=${over[k]}`) : l;
    }).filter((l): l is string => l !== undefined);
    const have = new Set(lines.map((l) => l.slice(0, l.indexOf("="))));
    for (const [k, v] of Object.entries(over)) if (!have.has(k) && v !== null) lines.push(`${k}=${v}`);
    return `${lines.join("\n")}\n`;
}
const plan = (over: Record<string, string | null>, args: Partial<AccountArgs> = {}) =>
    planAccount(parseAccountProbe(probeText(over)), { user: "alice", ...args });
const nologinShell = { shell: "/usr/sbin/nologin", shell_listed: "no" };

describe("account probe parsing", () => {
    it("reads the stock host", () => {
        assert.deepEqual(parseAccountProbe(healthy), {
            account: true, uid: 1001, gid: 1001, home: "/home/alice", shell: "/bin/bash",
            shellPresent: true, shellExecutable: true, shellListed: true, declaredShell: undefined, suggestShell: "/bin/bash",
            shadow: true, locked: false, lockOnly: false, lastChange: 20790, maxDays: 99999, inactiveDays: null, expiryDays: null,
            today: 20790, expired: false, usePam: "yes", nologin: null, runNologin: null,
        });
    });

    it("reads a broken account: nologin shell, lock, expiry day 0, /etc/nologin's first line, UsePAM no, the declared shell", () => {
        const p = parseAccountProbe(broken);
        assert.equal(p.shell, "/usr/sbin/nologin");
        assert.deepEqual([p.shellExecutable, p.shellListed], [true, false]);
        assert.deepEqual(p.declaredShell, { executable: true, listed: true });
        assert.deepEqual([p.locked, p.lockOnly, p.expiryDays, p.expired, p.usePam], [true, false, 0, true, "no"]);
        assert.equal(p.nologin, "down for maintenance");
        assert.equal(p.runNologin, null);
    });

    it("reads an absent account, and refuses output that is not the probe's", () => {
        const p = parseAccountProbe(absent);
        assert.equal(p.account, false);
        assert.equal(p.shadow, false);
        assert.throws(() => parseAccountProbe("hello\n"), /account probe printed no account= line/);
    });
});

describe("planAccount", () => {
    it("a usable account needs nothing: no drift, no paths, no steps", () => {
        const p = planAccount(parseAccountProbe(healthy), { user: "alice", shell: "/bin/bash", unlock: true, removeNologin: true });
        assert.deepEqual(p, { pending: false, drift: [], reports: [], paths: [], apply: [], restartSshd: false });
    });

    describe("shell", () => {
        it("nologin without a declared shell: a report with the command and the declaration", () => {
            const p = plan(nologinShell);
            assert.deepEqual(p.reports, [
                'account alice: shell /usr/sbin/nologin is not a login shell; fix by hand: usermod -s /bin/bash alice, or declare account: { shell: "/bin/bash" }',
            ]);
            assert.deepEqual(p.drift, p.reports);
            assert.equal(p.pending, false);
            assert.deepEqual(p.apply, []);
        });

        it("nologin with a declared shell the host lists and runs: usermod -s, passwd and shadow in the snapshot", () => {
            const p = plan({ ...nologinShell, declared_shell_executable: "yes", declared_shell_listed: "yes" }, { shell: "/bin/bash" });
            assert.deepEqual(p.reports, []);
            assert.deepEqual(p.drift, ["account alice: shell /usr/sbin/nologin is not a login shell; fixing: usermod -s /bin/bash alice"]);
            assert.equal(p.pending, true);
            assert.equal(p.restartSshd, false);
            assert.deepEqual(p.paths, ["/etc/passwd", "/etc/shadow"]);
            assert.deepEqual(p.apply, [{ script: "account/apply", env: { SR_USER: "alice", SR_SHELL: "/bin/bash" } }]);
        });

        it("a declared shell the host does not list or cannot run is refused with a report", () => {
            const p = plan({ ...nologinShell, declared_shell_executable: "no", declared_shell_listed: "no" }, { shell: "/bin/zsh" });
            assert.deepEqual(p.reports, ["account alice: shell /usr/sbin/nologin is not a login shell, and the declared shell /bin/zsh "
                + 'is not listed in /etc/shells and is not an executable file; fix by hand: usermod -s /bin/bash alice, or declare account: { shell: "/bin/bash" }']);
            assert.equal(p.pending, false);
        });

        it("/bin/false, a missing shell and a shell without an execute bit block; an empty field (/bin/sh) and an unlisted shell that runs do not", () => {
            assert.match(plan({ shell: "/bin/false", shell_listed: "no" }).reports[0], /^account alice: shell \/bin\/false is not a login shell;/);
            assert.deepEqual(plan({ shell: "/bin/zsh", shell_present: "no", shell_executable: "no", shell_listed: "no" }).reports,
                ['account alice: shell /bin/zsh does not exist, so sshd refuses the login; fix by hand: usermod -s /bin/bash alice, or declare account: { shell: "/bin/bash" }']);
            assert.match(plan({ shell: "/usr/local/bin/mysh", shell_executable: "no", shell_listed: "no" }).reports[0],
                /^account alice: shell \/usr\/local\/bin\/mysh is not executable, so sshd refuses the login;/);
            assert.deepEqual(plan({ shell: "" }).drift, []);
            assert.deepEqual(plan({ shell: "/usr/local/bin/mysh", shell_listed: "no" }).drift, []);
        });

        it("without a login shell on the host to suggest, the report says what to give", () => {
            assert.deepEqual(plan({ ...nologinShell, suggest_shell: "" }).reports, ["account alice: shell /usr/sbin/nologin is not a login shell; "
                + 'fix by hand: usermod -s <a shell listed in /etc/shells> alice, or declare account: { shell: "<a shell listed in /etc/shells>" }']);
        });
    });

    describe("password lock", () => {
        const locked = { shadow_locked: "yes" };
        it("UsePAM yes: a key login passes a '!' lock, nothing to do even with unlock declared", () => {
            assert.deepEqual(plan(locked).drift, []);
            assert.equal(plan(locked, { unlock: true }).pending, false);
        });

        it("UsePAM no: a report, or usermod -U when unlock is declared", () => {
            assert.deepEqual(plan({ ...locked, usepam: "no" }).reports, ["account alice: password entry is locked (it starts with !) and sshd runs with "
                + "UsePAM no, which refuses key logins to locked accounts; fix by hand: usermod -U alice, or declare account: { unlock: true }"]);
            const fixed = plan({ ...locked, usepam: "no" }, { unlock: true });
            assert.deepEqual(fixed.drift, ["account alice: password entry is locked (it starts with !) and sshd runs with UsePAM no, "
                + "which refuses key logins to locked accounts; fixing: usermod -U alice"]);
            assert.deepEqual(fixed.apply[0].env, { SR_USER: "alice", SR_UNLOCK: "yes" });
            assert.deepEqual(fixed.paths, ["/etc/passwd", "/etc/shadow"]);
        });

        it("a field that is nothing but '!' is fixed to '*', which the report says", () => {
            assert.match(plan({ ...locked, shadow_lock_only: "yes", usepam: "no" }).reports[0], /fix by hand: usermod -p '\*' alice, or declare account: \{ unlock: true \}$/);
            assert.match(plan({ ...locked, shadow_lock_only: "yes", usepam: "no" }, { unlock: true }).drift[0], /fixing: usermod -p '\*' alice$/);
        });

        it("UsePAM unknown: a drift line and no stop; unlock declared unlocks", () => {
            const p = plan({ ...locked, usepam: "unknown" });
            assert.deepEqual(p.reports, []);
            assert.equal(p.pending, false);
            assert.deepEqual(p.drift, ["account alice: password entry is locked (it starts with !) and sshd -T could not run to say whether UsePAM is on "
                + "(with UsePAM no sshd refuses key logins to locked accounts); if the login fails: usermod -U alice, or declare account: { unlock: true }"]);
            assert.equal(plan({ ...locked, usepam: "unknown" }, { unlock: true }).apply[0].env!.SR_UNLOCK, "yes");
        });

        it("a password login is refused by any lock; one with no password behind the lock needs passwd, unlock or not", () => {
            assert.deepEqual(plan(locked, { method: "password" }).reports, ["account alice: password entry is locked (it starts with !), so the password "
                + "login cannot succeed; fix by hand: usermod -U alice, or declare account: { unlock: true }"]);
            const none = plan({ ...locked, shadow_lock_only: "yes" }, { method: "password", unlock: true });
            assert.deepEqual(none.reports, ["account alice: password entry is locked and holds no password to unlock, so the password login cannot succeed; fix by hand: passwd alice"]);
            assert.equal(none.pending, false);
        });
    });

    describe("expiry", () => {
        it("an expiry day that has passed: a report, or chage -E -1 with unlock", () => {
            assert.deepEqual(plan({ expiry_days: "0", expired: "yes" }).reports, ["account alice: expired on 1970-01-01 (shadow expiry day 0; today is day 20790); "
                + "fix by hand: chage -E -1 alice, or declare account: { unlock: true }"]);
            const p = plan({ expiry_days: "0", expired: "yes" }, { unlock: true });
            assert.deepEqual(p.drift, ["account alice: expired on 1970-01-01 (shadow expiry day 0; today is day 20790); fixing: chage -E -1 alice"]);
            assert.deepEqual(p.apply[0].env, { SR_USER: "alice", SR_EXPIRE_CLEAR: "yes" });
        });

        it("counts the expiry day as pam_unix does (from that day on), and as sshd without PAM does (the day after)", () => {
            assert.equal(plan({ expiry_days: "20790" }).reports.length, 1);
            assert.equal(plan({ expiry_days: "20790", usepam: "no" }).reports.length, 0);
            assert.equal(plan({ expiry_days: "20789", usepam: "no" }).reports.length, 1);
            assert.equal(plan({ expiry_days: "20791" }).reports.length, 0);
            assert.equal(plan({ expiry_days: "-1" }).reports.length, 0);
        });
    });

    describe("password aging (PAM only)", () => {
        it("a forced change (chage -d 0) refuses a key login under PAM: a report; without PAM nothing", () => {
            assert.deepEqual(plan({ last_change: "0" }).reports, ["account alice: must change its password before it may log in (shadow last change is day 0: "
                + "chage -d 0 or passwd -e), which PAM enforces on key logins too; fix by hand: chage -d 2026-12-03 alice (or set a new password: passwd alice)"]);
            assert.deepEqual(plan({ last_change: "0", usepam: "no" }).drift, []);
            assert.equal(plan({ last_change: "0" }, { unlock: true }).reports.length, 1, "unlock does not reset a password's age");
        });

        it("a password past its maximum age, and past its inactive period", () => {
            assert.match(plan({ last_change: "20000", max_days: "10" }).reports[0],
                /^account alice: password expired on 2024-10-14 \(last changed 2024-10-04, maximum age 10 days\), so it must change its password before it may log in, which PAM/);
            assert.match(plan({ last_change: "20000", max_days: "10", inactive_days: "5" }).reports[0],
                /and its inactive period of 5 days has passed, so PAM takes the account for expired, which PAM enforces on key logins too; fix by hand: chage -d 2026-12-03 alice/);
            assert.deepEqual(plan({ last_change: "20780", max_days: "10" }).drift, []);
            assert.deepEqual(plan({ last_change: "20000", max_days: "" }).drift, []);
        });

        it("UsePAM unknown: a drift line and no stop", () => {
            const p = plan({ last_change: "0", usepam: "unknown" });
            assert.deepEqual(p.reports, []);
            assert.match(p.drift[0], /if sshd runs with UsePAM yes \(sshd -T could not run to say\); if the login fails, fix by hand: chage -d 2026-12-03 alice/);
        });
    });

    describe("nologin", () => {
        const etc = { nologin: "yes", nologin_text: b64("down for maintenance\n") };
        it("/etc/nologin: a report with its text, or rm with removeNologin; /etc/nologin in the snapshot, not passwd", () => {
            assert.deepEqual(plan(etc).reports, ['account alice: /etc/nologin exists ("down for maintenance"), so every login but root\'s is refused; '
                + "fix by hand: rm /etc/nologin, or declare account: { removeNologin: true }"]);
            const p = plan(etc, { removeNologin: true });
            assert.deepEqual(p.drift, ['account alice: /etc/nologin exists ("down for maintenance"), so every login but root\'s is refused; fixing: rm /etc/nologin']);
            assert.deepEqual(p.apply[0].env, { SR_USER: "alice", SR_REMOVE_NOLOGIN: "yes" });
            assert.deepEqual(p.paths, ["/etc/nologin"]);
        });

        it("root is not subject to it", () => {
            assert.deepEqual(planAccount(parseAccountProbe(probeText({ ...etc, uid: "0", run_nologin: "yes", run_nologin_text: "" })), { user: "root" }).drift, []);
        });

        it("/var/run/nologin refuses only through PAM", () => {
            const run = { run_nologin: "yes", run_nologin_text: b64("System is booting up.\n") };
            assert.deepEqual(plan(run).reports, ['account alice: /var/run/nologin exists ("System is booting up."), so pam_nologin refuses every login but root\'s; '
                + "fix by hand: rm /var/run/nologin, or declare account: { removeNologin: true }"]);
            assert.deepEqual(plan(run, { removeNologin: true }).apply[0].env, { SR_USER: "alice", SR_REMOVE_RUN_NOLOGIN: "yes" });
            assert.deepEqual(plan({ ...run, usepam: "no" }).drift, []);
            assert.equal(plan({ ...run, usepam: "unknown" }).reports.length, 0);
            assert.match(plan({ ...run, usepam: "unknown" }).drift[0], /if sshd runs with UsePAM yes \(sshd -T could not run to say\); if the login fails: rm \/var\/run\/nologin/);
        });
    });

    it("an absent account is always a report, whatever is declared", () => {
        const p = planAccount(parseAccountProbe(absent), { user: "carol", shell: "/bin/bash", unlock: true, removeNologin: true });
        assert.deepEqual(p.reports, ["account carol: no such account on the host (getent passwd carol finds none), and sshremedy never creates one; "
            + "fix by hand: useradd -m -s /bin/bash carol, or declare the login user that exists"]);
        assert.deepEqual([p.pending, p.apply, p.paths], [false, [], []]);
    });
});

describe("accountConcern", () => {
    it("probes with the user and the declared shell, and declares plain JSON", () => {
        const c = accountConcern({ user: "alice", shell: "/bin/bash", unlock: true });
        assert.equal(c.name, "account");
        assert.deepEqual(c.probe, { script: "account/probe", env: { SR_USER: "alice", SR_SHELL: "/bin/bash" } });
        assert.deepEqual(c.declaration, { user: "alice", method: "key", shell: "/bin/bash", unlock: true, removeNologin: false });
        assert.deepEqual(accountConcern({ user: "bob" }).probe, { script: "account/probe", env: { SR_USER: "bob" } });
    });

    it("the broken host without declarations: plan() throws every report, one a line, before any step exists", () => {
        assert.throws(() => accountConcern({ user: "alice" }).plan(broken), (e: Error) => {
            assert.equal(e.message, [
                'account alice: shell /usr/sbin/nologin is not a login shell; fix by hand: usermod -s /bin/bash alice, or declare account: { shell: "/bin/bash" }',
                "account alice: password entry is locked (it starts with !) and sshd runs with UsePAM no, which refuses key logins to locked accounts; "
                + "fix by hand: usermod -U alice, or declare account: { unlock: true }",
                "account alice: expired on 1970-01-01 (shadow expiry day 0; today is day 20790); fix by hand: chage -E -1 alice, or declare account: { unlock: true }",
                'account alice: /etc/nologin exists ("down for maintenance"), so every login but root\'s is refused; fix by hand: rm /etc/nologin, or declare account: { removeNologin: true }',
            ].join("\n"));
            return true;
        });
    });

    it("the broken host with every fix declared: one apply step, all four fixes, the files in the snapshot", () => {
        const p = accountConcern({ user: "alice", shell: "/bin/bash", unlock: true, removeNologin: true }).plan(broken);
        assert.equal(p.pending, true);
        assert.equal(p.restartSshd, false);
        assert.deepEqual(p.apply, [{
            script: "account/apply",
            env: { SR_USER: "alice", SR_SHELL: "/bin/bash", SR_UNLOCK: "yes", SR_EXPIRE_CLEAR: "yes", SR_REMOVE_NOLOGIN: "yes" },
        }]);
        assert.deepEqual([...p.paths].sort(), ["/etc/nologin", "/etc/passwd", "/etc/shadow"]);
        assert.equal(p.drift.length, 4);
        assert.ok(p.drift.every((d) => /; fixing: /.test(d)), p.drift.join("\n"));
    });

    it("fixes what is declared and still stops on what is not", () => {
        assert.throws(() => accountConcern({ user: "alice", shell: "/bin/bash", unlock: true }).plan(broken),
            (e: Error) => e.message === 'account alice: /etc/nologin exists ("down for maintenance"), so every login but root\'s is refused; '
                + "fix by hand: rm /etc/nologin, or declare account: { removeNologin: true }");
    });
});

describe("account declaration errors", () => {
    const bad = (args: Partial<AccountArgs>, argument: string, problem: RegExp) =>
        assert.throws(() => accountConcern({ user: "alice", ...args } as AccountArgs), (e: unknown) => {
            assert.ok(e instanceof DeclarationError, String(e));
            assert.equal(e.argument, argument);
            assert.match(e.problem, problem);
            return true;
        });

    it("shell: an absolute path of a shell that logs in, on one line", () => {
        bad({ shell: "bash" }, "shell", /^'bash' is not the absolute path of a shell$/);
        bad({ shell: "/bin/ba sh" }, "shell", /is not the absolute path/);
        bad({ shell: "/bin/bash\n" }, "shell", /is not the absolute path/);
        bad({ shell: "/bin/../bin/bash" }, "shell", /is not the absolute path/);
        bad({ shell: "/bin/bash:x" }, "shell", /is not the absolute path/);
        bad({ shell: "/usr/sbin/nologin" }, "shell", /^'\/usr\/sbin\/nologin' is not a login shell: it ends every session at once$/);
        bad({ shell: "/bin/false" }, "shell", /is not a login shell/);
        assert.throws(() => accountConcern({ user: "alice", shell: "sh" }),
            (e: Error) => e.message === "shell: 'sh' is not the absolute path of a shell. Fix: give a shell the host lists in /etc/shells, e.g. \"/bin/bash\"");
    });

    it("unlock and removeNologin: true or false", () => {
        bad({ unlock: "yes" as unknown as boolean }, "unlock", /^'yes' is not true or false$/);
        bad({ removeNologin: 1 as unknown as boolean }, "removeNologin", /^'1' is not true or false$/);
    });

    it("user and method", () => {
        bad({ user: "al ice" }, "user", /is not a user name/);
        bad({ user: "a,b" }, "user", /is not a user name/);
        bad({ method: "hostbased" as "key" }, "method", /is not a login method/);
    });
});
