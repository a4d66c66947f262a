import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runScript, SshTarget } from "../../components/core/transport";
import { run } from "../harness/exec";
import { ensureClientKeys } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";

const project = path.join(__dirname, "..", "..");
const child = path.join(__dirname, "fixtures", "ssh-sharing", "child.ts");
const printConnection = 'printf "%s\\n" "$SSH_CONNECTION"';
/** The client's port of `$SSH_CONNECTION`: one TCP connection, one port. */
const clientPort = (line: string) => line.trim().split(" ")[1];

describe("[ssh-sharing] one SSH connection per host and run, and a fresh one for the verifying login", function () {
    this.timeout(300_000);
    const newHost = hostsPerTest();

    it("[ssh-sharing] calls of one process ride one connection; a fresh login opens its own", async () => {
        const host = await newHost();
        const target: SshTarget = { kind: "ssh", host: host.address, user: "root", privateKey: fs.readFileSync((await ensureClientKeys()).main, "utf8") };
        const first = await runScript(target, printConnection);
        const second = await runScript(target, printConnection);
        const fresh = await runScript({ ...target, fresh: true }, printConnection);
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /^\S+ \d+ \S+ 22\n$/);
        assert.equal(clientPort(second.stdout), clientPort(first.stdout), "the second call made a connection of its own");
        assert.notEqual(clientPort(fresh.stdout), clientPort(first.stdout), "the fresh login rode the shared connection");
    });

    it("[ssh-sharing] two processes of one pulumi run (the program's probe, the provider's phases) share it; another run does not", async () => {
        const host = await newHost();
        const target = JSON.stringify({ kind: "ssh", host: host.address, user: "root", privateKey: fs.readFileSync((await ensureClientKeys()).main, "utf8") });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-sharing-"));
        try {
            // A stand-in for the pulumi CLI: a shell run under that name is the processes' common ancestor.
            fs.symlinkSync("/bin/sh", path.join(dir, "pulumi"));
            const node = [process.execPath, "-r", "ts-node/register/transpile-only", child].map((x) => `'${x}'`).join(" ");
            const run1 = `${node} hold > "$1/a" & while [ ! -s "$1/a" ]; do sleep 0.1; done; ${node} > "$1/b"; wait`;
            const one = await run([path.join(dir, "pulumi"), "-c", run1, "pulumi", dir], { cwd: project, env: { ...process.env, SR_TEST_TARGET: target }, timeoutMs: 120_000 });
            assert.equal(one.code, 0, one.stderr);
            const a = fs.readFileSync(path.join(dir, "a"), "utf8");
            const b = fs.readFileSync(path.join(dir, "b"), "utf8");
            assert.match(a, /^\S+ \d+ \S+ 22\n$/);
            assert.equal(clientPort(b), clientPort(a), "the second process of the run made a connection of its own");
            // Another run (another pulumi process) never rides the first run's connection.
            const two = await run([path.join(dir, "pulumi"), "-c", `${node} > "$1/c"`, "pulumi", dir], { cwd: project, env: { ...process.env, SR_TEST_TARGET: target }, timeoutMs: 120_000 });
            assert.equal(two.code, 0, two.stderr);
            assert.notEqual(clientPort(fs.readFileSync(path.join(dir, "c"), "utf8")), clientPort(a), "a later run rode an earlier run's connection");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
