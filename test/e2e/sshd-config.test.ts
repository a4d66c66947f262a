import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { FaultId, faultLogin, injectFault } from "../harness/faults";
import { createHost, destroyHost, ensureClientKeys, TestHost, testUsers } from "../harness/lab";
import { TestStack } from "../harness/pulumi";
import { sshLogin } from "../harness/ssh";

const project = path.join(__dirname, "fixtures", "sshd");

interface Declared {
    settings: Record<string, unknown>;
    mode?: Record<string, unknown>;
    verifyUser?: string;
    verifyPassword?: string;
    window?: number;
}

/** A host, a stack of the SshdConfig fixture aimed at it, and both removed after each test. */
describe("SshdConfig: real pulumi up repairs sshd_config on real hosts", function () {
    this.timeout(300_000);
    let host: TestHost | undefined;
    let stack: TestStack | undefined;
    afterEach(async () => {
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
        await s.setConfig("consolePrefix", JSON.stringify(h.consolePrefix));
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
            assert.equal((await host.console("ls /run/sshremedy 2>/dev/null | grep -c . || true")).stdout.trim(), "0");
        });
    }
});
