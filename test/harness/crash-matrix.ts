import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createHost, destroyHost, ensureClientKeys, Flavour, sleep, TestHost } from "./lab";
import { installHold, killRun } from "./holds";
import { sshLogin } from "./ssh";
import { TestStack } from "./pulumi";
import { project } from "./stacks";

/**
 * [crash-matrix] The runner (pulumi and every process it started) is SIGKILLed with the host held
 * at one point of the change, on a host whose declared login works before the run. Whatever the
 * point: the declared login works again within the dead-man window plus a margin, the changed
 * files are all as they were before the run or all as declared (never some of each), and the
 * next `pulumi up` converges after the documented recovery (`pulumi cancel`, README).
 */

const windowSec = 10;
const marginSec = 20;
/**
 * The files the declaration changes: the main config, a drop-in that contradicts it, and the
 * fail2ban allowlist the firewall concern adds (absent before the run).
 */
const files = ["etc/ssh/sshd_config", "etc/ssh/sshd_config.d/50-crash.conf", "etc/fail2ban/jail.d/sshremedy.local"];
const armed = "ls /run/sshremedy/deadman-sshremedy-* >/dev/null 2>&1";

export interface CrashPoint {
    readonly name: string;
    readonly what: string;
    readonly command: string;
    /** Shell with the command's arguments as "$@"; `ORIG` stands for sshd's pid before the run. */
    readonly when: string;
    /** The host goes on with what it was sent (its client is gone), or stays stuck there. */
    readonly after: "goes-on" | "stuck";
}

export const crashPoints: readonly CrashPoint[] = [
    { name: "snapshot", what: "after the snapshot, before the change is sent", command: "sort",
        when: `ls /var/lib/sshremedy/snapshots/*/manifest >/dev/null 2>&1 && ! ${armed}`, after: "goes-on" },
    { name: "staged", what: "while the apply stages (new file validated, not yet in place)", command: "readlink",
        when: `${armed} && [ -e /etc/ssh/.sshremedy-stage/sshd_config ]`, after: "goes-on" },
    { name: "swapped", what: "between the swap and the restart, the phase stuck there", command: "SERVICE",
        when: `${armed} && [ "$*" != "\${*%restart*}" ]`, after: "stuck" },
    { name: "restarted", what: "after sshd restarted on the new files", command: "tr",
        when: `${armed} && [ "$(cat /run/sshd.pid 2>/dev/null)" != ORIG ]`, after: "goes-on" },
    { name: "verifying", what: "during the verifying login", command: "id",
        // As the login's user, who cannot look into /run/sshremedy: sshd's new pid says enough.
        when: `[ "$1" = -un ] && [ "$(/usr/bin/id -u)" != 0 ] && [ "$(cat /run/sshd.pid 2>/dev/null)" != ORIG ]`, after: "goes-on" },
    { name: "disarmed", what: "after the disarm, before the run records it", command: "mv",
        when: `[ "$3" = /run/sshremedy/lock ] && case $4 in */.released.*) true ;; *) false ;; esac`, after: "goes-on" },
];

export interface CrashOutcome {
    readonly flavour: Flavour;
    readonly point: string;
    readonly files: "before" | "declared";
    readonly recoverySec: number;
    readonly nextUpSec: number;
}

/** Each outcome as a JSON line, for the README table (SR_CRASH_MATRIX_OUT names the file). */
const outcomesFile = process.env.SR_CRASH_MATRIX_OUT ?? path.join(os.tmpdir(), "sshremedy-crash-matrix.jsonl");

function readFiles(host: TestHost): (Buffer | null)[] {
    return files.map((f) => {
        try {
            return fs.readFileSync(path.join(host.root, f));
        } catch {
            return null;
        }
    });
}

const same = (a: (Buffer | null)[], b: (Buffer | null)[]) => a.every((x, i) => (x === null ? b[i] === null : b[i] !== null && x.equals(b[i]!)));

export function crashMatrix(flavour: Flavour): void {
    describe(`[crash-matrix] pulumi killed at every point of a change, ${flavour} host`, function () {
        this.timeout(300_000);
        let host: TestHost | undefined;
        let stack: TestStack | undefined;
        afterEach(async () => {
            if (stack) await stack.dispose();
            if (host) await destroyHost(host);
            host = undefined;
            stack = undefined;
        });

        for (const point of crashPoints) {
            it(`[crash-matrix] ${flavour}: killed ${point.what}: login within the window, files all before or all declared, next up converges`, async () => {
                host = await createHost({ flavour });
                const h = host;
                const keys = await ensureClientKeys();
                const login = { address: h.address, user: "alice", keys: [keys.main] };
                // Drift in two files, neither of which keeps the declared user out.
                await h.consoleOk("sed -i 's/^#\\?MaxAuthTries.*/MaxAuthTries 9/' /etc/ssh/sshd_config && grep -q '^MaxAuthTries 9' /etc/ssh/sshd_config"
                    + " && printf 'MaxSessions 2\\n' > /etc/ssh/sshd_config.d/50-crash.conf");
                await h.restartSshd();
                assert.ok((await sshLogin(login)).ok, "the declared login must work before the run");
                const before = readFiles(h);
                const origPid = (await h.consoleOk("cat /run/sshd.pid")).trim();

                stack = await TestStack.create(project);
                await stack.setConfig("sshremedy:hosts", JSON.stringify([{
                    name: h.name, ssh: { user: "root" }, deadmanWindowSec: windowSec,
                    login: { address: h.address, user: "alice", sources: [h.peerAddress] },
                    sshd: { settings: { maxAuthTries: 3, maxSessions: 10 } },
                }]));
                const key = fs.readFileSync(keys.main, "utf8");
                await stack.setConfig("sshremedy:loginKey", key, true);
                await stack.setConfig("sshremedy:adminKey", key, true);

                const command = point.command === "SERVICE" ? (flavour === "sysv" ? "service" : "systemctl") : point.command;
                const hold = await installHold(h, command, point.when.replace("ORIG", origPid));
                const log = path.join(stack.stateDir, "up.log");
                const out = fs.openSync(log, "w");
                const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--cwd", project, "--stack", stack.stack],
                    { env: stack.env, detached: true, stdio: ["ignore", out, out] });
                fs.closeSync(out);
                let exited: number | null | undefined;
                child.on("exit", (c) => { exited = c; });
                try {
                    await hold.reached(90_000);
                } catch (e) {
                    killRun(child.pid!);
                    throw new Error(`${(e as Error).message}\n${fs.readFileSync(log, "utf8").slice(-3000)}`);
                }
                assert.equal(exited, undefined, "pulumi finished before the crash point");
                killRun(child.pid!);
                const killedAt = Date.now();
                await hold.remove();
                if (point.after === "goes-on") {
                    await hold.release();
                }

                // The host settles on its own: nothing armed any more, the declared login works.
                let settled = false;
                let lastWhy = "";
                while (!settled && Date.now() - killedAt < (windowSec + marginSec) * 1000) {
                    await sleep(250);
                    const left = await h.console(`ls /run/sshremedy/ 2>/dev/null | grep -c '^deadman-[^.]*$'; ls /var/lib/sshremedy/armed 2>/dev/null | grep -vc '\\.fired$'`);
                    const counts = left.stdout.trim().split("\n").map(Number);
                    if (counts.some((n) => n > 0)) {
                        lastWhy = "a dead-man is still armed";
                        continue;
                    }
                    const l = await sshLogin({ ...login, connectTimeoutSec: 3 });
                    settled = l.ok;
                    lastWhy = l.symptom;
                }
                const recoverySec = (Date.now() - killedAt) / 1000;
                assert.ok(settled, `not settled ${windowSec + marginSec} s after the kill: ${lastWhy}`);
                if (point.after === "stuck") {
                    const left = await h.console("ps -eo args | grep '^/bin/sh /usr/local/bin/'");
                    assert.equal(left.stdout.trim(), "", "the stuck phase still runs after the revert");
                }
                const afterCrash = readFiles(h);

                // The documented recovery: the stack lock the killed run left, then an ordinary up.
                const cancel = await stack.pulumi(["cancel", "--yes"]);
                const t0 = Date.now();
                const up = await stack.up();
                const nextUpSec = (Date.now() - t0) / 1000;
                assert.equal(up.code, 0, `the next up did not converge (cancel: ${cancel.stdout}${cancel.stderr}):\n${up.stdout.slice(-3000)}\n${up.stderr.slice(-3000)}`);
                const declared = readFiles(h);
                assert.ok((await sshLogin(login)).ok, "the declared login fails after the converging run");
                assert.match((await h.consoleOk("sshd -T -C user=alice,host=x,addr=198.18.0.1 | grep -E '^(maxauthtries|maxsessions) '")).trim(),
                    /maxauthtries 3\nmaxsessions 10/);

                const state = same(afterCrash, before) ? "before" : same(afterCrash, declared) ? "declared" : "mixed";
                assert.notEqual(state, "mixed", `after the crash the files are neither all as before nor all as declared:\n${files.map((f, i) => `${f}: ${afterCrash[i]?.equals(before[i] ?? Buffer.alloc(0)) ? "before" : afterCrash[i]?.equals(declared[i] ?? Buffer.alloc(0)) ? "declared" : "other"}`).join("\n")}`);
                if (point.name === "disarmed") {
                    assert.equal(state, "declared", "a change verified and disarmed must stay");
                } else {
                    assert.equal(state, "before", "an unverified change must be reverted");
                }
                const outcome: CrashOutcome = { flavour, point: point.name, files: state, recoverySec, nextUpSec };
                fs.appendFileSync(outcomesFile, `${JSON.stringify(outcome)}\n`);
            });
        }
    });
}
