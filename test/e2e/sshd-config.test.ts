import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FaultId, faultLogin, injectFault } from "../harness/faults";
import { createHost, destroyHost, ensureClientKeys, sleep, TestHost, testUsers } from "../harness/lab";
import { TestStack } from "../harness/pulumi";
import { sshLogin } from "../harness/ssh";

const project = path.join(__dirname, "fixtures", "sshd");

interface Declared {
    settings: Record<string, unknown>;
    mode?: Record<string, unknown>;
    verifyUser?: string;
    verifyPassword?: string;
    window?: number;
    transport?: "ssh" | "console";
    /** Console prefix to use instead of the host's own (e.g. one that records each call). */
    consolePrefix?: string[];
}

/** A console prefix that appends a line to `log` (on the machine) each time it carries a script. */
export function recordingPrefix(h: TestHost, log: string): string[] {
    return ["sh", "-c", 'echo call >> "$0"; exec "$@"', log, ...h.consolePrefix];
}

/** A host, a stack of the SshdConfig fixture aimed at it, and both removed after each test. */
/**
 * Entries in the dead-man's folder on the host. The folder must exist (arming made it): a count
 * of nothing in a folder that was never made would prove nothing.
 */
async function armedEntries(host: TestHost): Promise<number> {
    const r = await host.console("test -d /run/sshremedy && ls -A /run/sshremedy | wc -l");
    assert.equal(r.code, 0, "no /run/sshremedy on the host: the dead-man was never armed there");
    return Number(r.stdout.trim());
}

describe("SshdConfig: real pulumi up repairs sshd_config on real hosts", function () {
    this.timeout(300_000);
    let host: TestHost | undefined;
    let stack: TestStack | undefined;
    const scratch: string[] = [];
    const scratchDir = () => {
        scratch.push(fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-calls-")));
        return scratch[scratch.length - 1];
    };
    afterEach(async () => {
        scratch.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
        await stack?.dispose();
        stack = undefined;
        if (host) {
            await destroyHost(host);
            host = undefined;
        }
    });

    async function declare(h: TestHost, d: Declared): Promise<TestStack> {
        const s = await TestStack.create(project);
        await s.setConfig("address", h.address);
        await s.setConfig("consolePrefix", JSON.stringify(d.consolePrefix ?? h.consolePrefix));
        if (d.transport) {
            await s.setConfig("transport", d.transport);
        }
        await s.setConfig("privateKey", fs.readFileSync((await ensureClientKeys()).main, "utf8"), true);
        await s.setConfig("settings", JSON.stringify(d.settings));
        if (d.mode) {
            await s.setConfig("mode", JSON.stringify(d.mode));
        }
        if (d.verifyUser) {
            await s.setConfig("verifyUser", d.verifyUser);
        }
        if (d.verifyPassword) {
            await s.setConfig("verifyPassword", d.verifyPassword, true);
        }
        if (d.window) {
            await s.setConfig("window", String(d.window));
        }
        return s;
    }

    async function snapshotExists(h: TestHost, s: TestStack): Promise<string> {
        const snap = String((await s.outputs()).snapshot);
        assert.match(snap, /^\/var\/lib\/sshremedy\/snapshots\//);
        assert.equal((await h.console(`test -s ${snap}/manifest`)).code, 0, `no snapshot at ${snap}`);
        return snap;
    }

    const fixes: { id: FaultId; title: string; declared: Declared }[] = [
        { id: "S1", title: "AllowUsers that excludes the user", declared: { settings: { allowUsers: ["alice", "bob"] } } },
        { id: "S2", title: "DenyUsers that lists the user", declared: { settings: { denyUsers: null } } },
        { id: "S3", title: "AllowGroups that excludes the user's groups", declared: { settings: { allowGroups: ["sshusers"] } } },
        { id: "S4", title: "DenyGroups that lists a group of the user", declared: { settings: { denyGroups: null } } },
        {
            id: "S5", title: "PasswordAuthentication no for a password client",
            declared: { settings: { passwordAuthentication: true }, verifyPassword: testUsers.alice.password },
        },
        { id: "S10", title: "PermitRootLogin no for a root key login", declared: { settings: { permitRootLogin: "prohibit-password" }, verifyUser: "root" } },
        { id: "S11", title: "MaxAuthTries lower than the keys offered", declared: { settings: { maxAuthTries: 6 } } },
        { id: "S14", title: "a ListenAddress the host cannot bind", declared: { settings: { addressFamily: "inet", listenAddress: ["0.0.0.0"] } } },
        {
            id: "S15", title: "a bad option in sshd_config (replace mode renders a known-good file)",
            declared: { settings: { permitRootLogin: "prohibit-password" }, mode: { kind: "replace", distro: { id: "debian", version: "12" } } },
        },
    ];

    for (const f of fixes) {
        it(`[${f.id}] ${f.title}: the guide's symptom, then pulumi up, then a fresh login works and the snapshot exists`, async () => {
            host = await createHost();
            const fault = await injectFault(host, f.id);
            fault.release();
            const before = await sshLogin({ address: host.address, ...fault.login });
            assert.equal(before.ok, false);
            assert.match(before.symptom, fault.symptom);

            stack = await declare(host, f.declared);
            const up = await stack.up();
            assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);

            const after = await sshLogin({ address: host.address, ...(await faultLogin(f.id)) });
            assert.ok(after.ok, `login still fails after pulumi up: ${after.symptom}`);
            await snapshotExists(host, stack);
            // The verified change leaves no revert armed behind it.
            assert.equal(await armedEntries(host), 0);
        });
    }

    const lockout: Declared = { settings: { denyUsers: ["alice"] }, window: 10 };

    it("[verify-fail] a config that validates but locks the verifying user out: up fails naming the cause, the host is back", async () => {
        host = await createHost();
        const keyLogin = await faultLogin("S1");
        const original = await host.consoleOk("cat /etc/ssh/sshd_config");
        stack = await declare(host, lockout);
        const up = await stack.up();
        assert.notEqual(up.code, 0, "pulumi up must fail when the declared user cannot log in");
        assert.match(up.stdout + up.stderr, /verification login as alice@[0-9.]+ failed: .*Permission denied/);
        assert.match(up.stdout + up.stderr, /the host is back on its snapshot/);
        assert.equal(await host.consoleOk("cat /etc/ssh/sshd_config"), original);
        assert.ok((await sshLogin({ address: host.address, ...keyLogin })).ok);
        // Nothing stays armed: the revert already ran.
        assert.equal(await armedEntries(host), 0);
    });

    it("[deadman] pulumi killed right after the swap to a lockout: the host reverts by itself within the window", async () => {
        host = await createHost();
        const h = host;
        const keyLogin = await faultLogin("S1");
        stack = await declare(h, lockout);
        // Its own process group, so the CLI, the language host and the providers die together.
        const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--cwd", project, "--stack", stack.stack],
            { env: stack.env, detached: true, stdio: "ignore" });
        const live = `${h.root}/etc/ssh/sshd_config`;
        const original = fs.readFileSync(live);
        const deadline = Date.now() + 60_000;
        while (!fs.readFileSync(live, "utf8").includes("DenyUsers alice")) {
            assert.ok(Date.now() < deadline, "the swap never happened");
            await sleep(5);
        }
        const killedAt = Date.now();
        process.kill(-child.pid!, "SIGKILL");
        // The host finishes the phase it was sent (restarting sshd) on its own.
        let locked = false;
        while (!locked && Date.now() - killedAt < 5_000) {
            locked = !(await sshLogin({ address: h.address, ...keyLogin })).ok;
        }
        assert.ok(locked, "the lockout config never took effect after Pulumi died");
        // Nobody is left to revert it but the host's own timer.
        let back = false;
        while (!back && Date.now() - killedAt < 25_000) {
            await sleep(500);
            back = (await sshLogin({ address: h.address, ...keyLogin, connectTimeoutSec: 3 })).ok;
        }
        assert.ok(back, "login did not come back within window + 15 s");
        const waited = (Date.now() - killedAt) / 1000;
        assert.ok(waited >= 5, `reverted after ${waited} s: sooner than a 10 s window allows, so not by the dead-man`);
        assert.ok(fs.readFileSync(live).equals(original), "the reverted sshd_config is not byte for byte the one before the run");
    });

    it("[drift] a hand edit of a managed directive shows in preview and pulumi up repairs it; [idempotent] reruns change nothing", async () => {
        host = await createHost();
        stack = await declare(host, { settings: { maxAuthTries: 4, permitRootLogin: "prohibit-password" } });
        const first = await stack.up();
        assert.equal(first.code, 0, first.stdout + first.stderr);
        const snapshots = async () => (await host!.consoleOk("ls /var/lib/sshremedy/snapshots | wc -l")).trim();
        const count = await snapshots();

        // [idempotent]: a second up changes nothing: no resource, no line, no snapshot, no revert job.
        const second = await stack.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        assert.equal(second.code, 0, `second up wanted changes:\n${second.stdout}`);
        assert.equal(await snapshots(), count);
        assert.equal((await host.consoleOk("grep -ci '^MaxAuthTries' /etc/ssh/sshd_config")).trim(), "1");

        // [drift]: an operator edits the managed directive by hand.
        await host.consoleOk("sed -i 's/^MaxAuthTries 4$/MaxAuthTries 9/' /etc/ssh/sshd_config");
        const preview = await stack.pulumi(["preview", "--diff"]);
        assert.equal(preview.code, 0, preview.stderr);
        assert.match(preview.stdout, /host-apply/);
        assert.match(preview.stdout, /- MaxAuthTries 9/);
        assert.match(preview.stdout, /\+ MaxAuthTries 4/);
        const strict = await stack.pulumi(["preview", "--expect-no-changes"]);
        assert.notEqual(strict.code, 0, "preview must see the drift as a change");
        // Preview changed nothing on the host.
        assert.match(await host.consoleOk("cat /etc/ssh/sshd_config"), /^MaxAuthTries 9$/m);

        const repair = await stack.up();
        assert.equal(repair.code, 0, repair.stdout + repair.stderr);
        assert.match(await host.consoleOk("cat /etc/ssh/sshd_config"), /^MaxAuthTries 4$/m);
        const converged = await stack.pulumi(["preview", "--expect-no-changes"]);
        assert.equal(converged.code, 0, converged.stdout);
    });

    it("keeps the verifying key and password secret: not in output, not in plaintext state", async () => {
        host = await createHost();
        await injectFault(host, "S5");
        stack = await declare(host, { settings: { passwordAuthentication: true }, verifyPassword: testUsers.alice.password });
        const up = await stack.up();
        assert.equal(up.code, 0, up.stdout + up.stderr);
        const key = fs.readFileSync((await ensureClientKeys()).main, "utf8").split("\n")[1];
        for (const secret of [testUsers.alice.password, key]) {
            assert.ok(!up.stdout.includes(secret) && !up.stderr.includes(secret), "secret printed by pulumi up");
            assert.ok(!stack.stateText().includes(secret), "secret in plaintext state");
        }
    });

    it("refuses bad input at preview, naming the argument and the fix, and sends nothing to the host", async () => {
        host = await createHost();
        const log = path.join(scratchDir(), "calls");
        const bad: [Record<string, unknown>, RegExp][] = [
            [{ allowUsers: ["alice\nPermitRootLogin yes"] }, /allowUsers\[0\]/],
            [{ allowUsers: ["$(reboot)"] }, /allowUsers\[0\]/],
            [{ port: 65536 }, /port/],
            [{ maxStartups: "abc" }, /maxStartups/],
            [{ allowUsers: [] }, /allowUsers/],
        ];
        for (const [settings, argument] of bad) {
            stack = await declare(host, { settings, consolePrefix: recordingPrefix(host, log) });
            const preview = await stack.pulumi(["preview"]);
            assert.notEqual(preview.code, 0, `preview accepted ${JSON.stringify(settings)}`);
            assert.match(preview.stdout + preview.stderr, argument);
            assert.match(preview.stdout + preview.stderr, /Fix: /);
            await stack.dispose();
            stack = undefined;
        }
        assert.equal(fs.existsSync(log), false, "a command reached the host");
        // The recorder does record: a valid declaration's preview probes the host once.
        stack = await declare(host, { settings: { maxAuthTries: 4 }, consolePrefix: recordingPrefix(host, log) });
        const ok = await stack.pulumi(["preview"]);
        assert.equal(ok.code, 0, ok.stdout + ok.stderr);
        assert.equal(fs.readFileSync(log, "utf8"), "call\n");
    });

    it("[S4] the same pipeline over the ssh transport: repaired as root over SSH, verified as alice", async () => {
        host = await createHost();
        await injectFault(host, "S4");
        stack = await declare(host, { settings: { denyGroups: null }, transport: "ssh" });
        const up = await stack.up();
        assert.equal(up.code, 0, up.stdout + up.stderr);
        assert.ok((await sshLogin({ address: host.address, ...(await faultLogin("S4")) })).ok);
        await snapshotExists(host, stack);
    });
});
