import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { accountConcern, parseAccountProbe, type AccountArgs } from "../../components/account/account";
import { ensureClientKeys, TestHost, testUsers, type TestUser } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { probeAndPlan, runPhase } from "../harness/phases";
import { sshLogin } from "../harness/ssh";

/**
 * The account gate on real hosts (Debian 12, OpenSSH 9.2p1): each shape is broken by hand, the
 * refusal is proven with the real ssh client, then the concern's probe and apply run through the
 * host's console as the pipeline sends them, and a fresh key login works. Without the declaration
 * the plan refuses with the report, and the host's account files are byte for byte what they were.
 */

async function keyLogin(host: TestHost, user: TestUser = "alice") {
    return sshLogin({ address: host.address, user, keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 });
}

async function refused(host: TestHost, symptom: RegExp, user: TestUser = "alice"): Promise<void> {
    const r = await keyLogin(host, user);
    assert.equal(r.ok, false, `${user} still logs in`);
    assert.match(`${r.stdout}\n${r.symptom}`, symptom);
}

async function logsIn(host: TestHost, user: TestUser = "alice"): Promise<void> {
    const r = await keyLogin(host, user);
    assert.ok(r.ok, `${user} cannot log in: ${r.symptom}`);
}

/** The host's account files as bytes, read from its root. */
function accountFiles(host: TestHost): Record<string, string | null> {
    return Object.fromEntries(["etc/passwd", "etc/shadow", "etc/nologin"].map((p) => {
        const f = path.join(host.root, p);
        return [p, fs.existsSync(f) ? fs.readFileSync(f).toString("base64") : null];
    }));
}

async function withoutPam(host: TestHost): Promise<void> {
    await host.consoleOk("echo 'UsePAM no' > /etc/ssh/sshd_config.d/00-usepam.conf");
    const r = await host.restartSshd();
    assert.equal(r.code, 0, r.stderr);
    await host.waitForSsh();
}

/** Probe, plan and apply as the pipeline would (without its snapshot and dead-man), then converged. */
async function repair(host: TestHost, args: AccountArgs, drift: readonly string[], changed: RegExp): Promise<void> {
    const concern = accountConcern(args);
    const { plan } = await probeAndPlan(host, concern);
    assert.deepEqual([...plan.drift], drift);
    assert.equal(plan.pending, true);
    assert.equal(plan.restartSshd, false);
    const out = await runPhase(host, plan.apply);
    assert.match(out, changed);
    const again = (await probeAndPlan(host, concern)).plan;
    assert.equal(again.pending, false, again.drift.join("\n"));
    assert.deepEqual([...again.drift], []);
}

/** The probe through the console, then the plan: it must refuse with exactly `report`, and nothing on the host changes. */
async function refusesWith(host: TestHost, args: AccountArgs, report: (today: number) => string): Promise<void> {
    const before = accountFiles(host);
    const concern = accountConcern(args);
    const stdout = await runPhase(host, [concern.probe]);
    const today = parseAccountProbe(stdout).today;
    assert.throws(() => concern.plan(stdout), (e: Error) => {
        assert.equal(e.message, report(today));
        return true;
    });
    assert.deepEqual(accountFiles(host), before, "the probe changed the account files");
    assert.equal(fs.existsSync(path.join(host.root, "var/lib/sshremedy")), false, "something was written for a change");
}

describe("Account gate on real hosts: shell, lock, expiry, nologin", function () {
    this.timeout(90_000);
    const newHost = hostsPerTest();

    describe("fixed when declared", () => {
        it("[gate-account] shell /usr/sbin/nologin: the session ends at once; declared shell /bin/bash set with usermod -s; login works", async () => {
            const host = await newHost();
            await host.consoleOk("usermod -s /usr/sbin/nologin alice");
            await refused(host, /This account is currently not available/);
            await repair(host, { user: "alice", shell: "/bin/bash" },
                ["account alice: shell /usr/sbin/nologin is not a login shell; fixing: usermod -s /bin/bash alice"], /^changed=shell \/bin\/bash$/m);
            await logsIn(host);
            assert.match(await host.consoleOk("getent passwd alice"), /:\/bin\/bash$/m);
        });

        it("[gate-account] a shell that is gone: sshd refuses (Permission denied); declared shell /bin/sh set; login works", async () => {
            const host = await newHost();
            await host.consoleOk("usermod -s /usr/local/bin/zsh alice 2>/dev/null");
            await refused(host, /Permission denied \(publickey/);
            await repair(host, { user: "alice", shell: "/bin/sh" },
                ["account alice: shell /usr/local/bin/zsh does not exist, so sshd refuses the login; fixing: usermod -s /bin/sh alice"], /^changed=shell \/bin\/sh$/m);
            await logsIn(host);
        });

        it("[gate-account] account expired (chage -E 0): PAM refuses; unlock clears the expiry with chage -E -1; login works", async () => {
            const host = await newHost();
            await host.consoleOk("chage -E 0 alice");
            await refused(host, /Your account has expired/);
            const today = parseAccountProbe(await runPhase(host, [accountConcern({ user: "alice" }).probe])).today;
            await repair(host, { user: "alice", unlock: true },
                [`account alice: expired on 1970-01-01 (shadow expiry day 0; today is day ${today}); fixing: chage -E -1 alice`], /^changed=expiry$/m);
            await logsIn(host);
            assert.match(await host.consoleOk("getent shadow alice"), /^alice:\$y\$[^:]+:\d+:0:99999:7:::$/m, "the password hash is kept");
        });

        it("[gate-account] /etc/nologin: every login but root's is refused, with its text; removeNologin removes it; login works", async () => {
            const host = await newHost();
            await host.consoleOk("echo 'down for maintenance' > /etc/nologin");
            await refused(host, /down for maintenance/);
            await logsIn(host, "root");
            const rootPlan = (await probeAndPlan(host, accountConcern({ user: "root" }))).plan;
            assert.deepEqual([...rootPlan.drift], [], "root is not subject to /etc/nologin");
            await repair(host, { user: "alice", removeNologin: true },
                ['account alice: /etc/nologin exists ("down for maintenance"), so every login but root\'s is refused; fixing: rm /etc/nologin'], /^changed=\/etc\/nologin$/m);
            await logsIn(host);
        });

        it("[gate-account] sysv: /var/run/nologin, read by pam_nologin: refused; removeNologin removes it; login works", async () => {
            const host = await newHost({ flavour: "sysv" });
            await host.consoleOk("echo 'System is booting up.' > /var/run/nologin");
            await refused(host, /System is booting up\./);
            await repair(host, { user: "alice", removeNologin: true },
                ['account alice: /var/run/nologin exists ("System is booting up."), so pam_nologin refuses every login but root\'s; fixing: rm /var/run/nologin'],
                /^changed=\/var\/run\/nologin$/m);
            await logsIn(host);
        });

        it("[gate-account] UsePAM no, usermod -L: sshd refuses the locked account; unlock runs usermod -U, the hash comes back; login works", async () => {
            const host = await newHost();
            const hash = (await host.consoleOk("getent shadow alice | cut -d: -f2")).trim();
            await host.consoleOk("usermod -L alice");
            await withoutPam(host);
            await refused(host, /Permission denied \(publickey/);
            await repair(host, { user: "alice", unlock: true },
                ["account alice: password entry is locked (it starts with !) and sshd runs with UsePAM no, which refuses key logins to locked accounts; fixing: usermod -U alice"],
                /^changed=unlock$/m);
            await logsIn(host);
            assert.equal((await host.consoleOk("getent shadow alice | cut -d: -f2")).trim(), hash);
        });

        it("[gate-account] UsePAM no, a password field of nothing but '!!': unlocked to '*', so keys work and no password does", async () => {
            const host = await newHost();
            await host.consoleOk("usermod -p '!!' bob");
            await withoutPam(host);
            await refused(host, /Permission denied \(publickey/, "bob");
            await repair(host, { user: "bob", unlock: true },
                ["account bob: password entry is locked (it starts with !) and sshd runs with UsePAM no, which refuses key logins to locked accounts; fixing: usermod -p '*' bob"],
                /^changed=unlock$/m);
            await logsIn(host, "bob");
            assert.equal((await host.consoleOk("getent shadow bob | cut -d: -f2")).trim(), "*");
            const pw = await sshLogin({ address: host.address, user: "bob", password: testUsers.bob.password, connectTimeoutSec: 3 });
            assert.equal(pw.ok, false, "a password login works where none did");
        });

        it("[gate-account] UsePAM yes: a '!'-locked account still logs in with its key, so nothing is reported or changed", async () => {
            const host = await newHost();
            await host.consoleOk("usermod -L alice");
            await logsIn(host);
            const plan = (await probeAndPlan(host, accountConcern({ user: "alice", unlock: true }))).plan;
            assert.equal(plan.pending, false);
            assert.deepEqual([...plan.drift], []);
        });
    });

    describe("reported, and nothing changes, when not declared", () => {
        it("[gate-account] nologin shell and an expired account: the plan refuses with both causes and their commands; passwd and shadow unchanged", async () => {
            const host = await newHost();
            await host.consoleOk("usermod -s /usr/sbin/nologin alice; chage -E 0 alice");
            await refused(host, /Your account has expired/);
            await refusesWith(host, { user: "alice" }, (today) => [
                'account alice: shell /usr/sbin/nologin is not a login shell; fix by hand: usermod -s /bin/bash alice, or declare account: { shell: "/bin/bash" }',
                `account alice: expired on 1970-01-01 (shadow expiry day 0; today is day ${today}); fix by hand: chage -E -1 alice, or declare account: { unlock: true }`,
            ].join("\n"));
            await refused(host, /Your account has expired/);
        });

        it("[gate-account] /etc/nologin: the plan refuses naming the file, its text and rm; the file stays", async () => {
            const host = await newHost();
            await host.consoleOk("echo 'down for maintenance' > /etc/nologin");
            await refusesWith(host, { user: "alice", shell: "/bin/bash", unlock: true }, () =>
                'account alice: /etc/nologin exists ("down for maintenance"), so every login but root\'s is refused; fix by hand: rm /etc/nologin, or declare account: { removeNologin: true }');
            await refused(host, /down for maintenance/);
        });

        it("[gate-account] UsePAM no, usermod -L: the plan refuses with usermod -U; the lock stays", async () => {
            const host = await newHost();
            await host.consoleOk("usermod -L alice");
            await withoutPam(host);
            await refusesWith(host, { user: "alice" }, () => "account alice: password entry is locked (it starts with !) and sshd runs with UsePAM no, "
                + "which refuses key logins to locked accounts; fix by hand: usermod -U alice, or declare account: { unlock: true }");
            await refused(host, /Permission denied \(publickey/);
        });

        it("[gate-account] a password that must change (chage -d 0) refuses a key login under PAM: reported, nothing to declare", async () => {
            const host = await newHost();
            await host.consoleOk("chage -d 0 alice");
            await refused(host, /Password change required but no TTY available/);
            await refusesWith(host, { user: "alice", unlock: true }, (today) => "account alice: must change its password before it may log in (shadow last change "
                + "is day 0: chage -d 0 or passwd -e), which PAM enforces on key logins too; fix by hand: "
                + `chage -d ${new Date(today * 86_400_000).toISOString().slice(0, 10)} alice (or set a new password: passwd alice)`);
        });

        it("[gate-account] an account the host does not have is reported, never created", async () => {
            const host = await newHost();
            await refusesWith(host, { user: "carol", shell: "/bin/bash", unlock: true, removeNologin: true }, () =>
                "account carol: no such account on the host (getent passwd carol finds none), and sshremedy never creates one; "
                + "fix by hand: useradd -m -s /bin/bash carol, or declare the login user that exists");
        });
    });
});
