import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { runScript } from "../../components/core/transport";
import { composePhase } from "../../components/core/compose";
import { hostsPerTest } from "../harness/per-test";
import { ensureClientKeys, Flavour, sleep, TestHost } from "../harness/lab";
import { sshLogin } from "../harness/ssh";

/**
 * The on-host scripts of the apply pipeline (components/host and sshd-config), run on real test hosts the way
 * the components send them: quoted SR_* assignments, lib.sh, then the script, to `/bin/sh -s`.
 */

const scriptsDir = path.join(__dirname, "..", "..", "components");
const text = (name: string) => fs.readFileSync(path.join(scriptsDir, name), "utf8");

type Env = Record<string, string>;

/** The script as the components send it: composePhase (quoted SR_* values, lib.sh, a subshell). */
function bundle(name: string, env: Env): string {
    return composePhase([{ script: name.replace(/\.sh$/, ""), env }]);
}

interface ScriptRun {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    /** Every value printed for a key, in order. */
    all(key: string): string[];
    /** The one value printed for a key. */
    one(key: string): string;
}

function parse(r: { code: number | null; stdout: string; stderr: string }): ScriptRun {
    const keys = new Map<string, string[]>();
    let inEffective = false;
    for (const line of r.stdout.split("\n")) {
        if (line === "effective_begin" || line === "effective_end") {
            inEffective = line === "effective_begin";
            continue;
        }
        const eq = line.indexOf("=");
        if (!inEffective && eq > 0) {
            const k = line.slice(0, eq);
            keys.set(k, [...(keys.get(k) ?? []), line.slice(eq + 1)]);
        }
    }
    return {
        ...r,
        all: (k) => keys.get(k) ?? [],
        one: (k) => {
            const v = keys.get(k) ?? [];
            assert.equal(v.length, 1, `expected one ${k}= line in:\n${r.stdout}\n${r.stderr}`);
            return v[0];
        },
    };
}

async function runOn(host: TestHost, name: string, env: Env = {}): Promise<ScriptRun> {
    return parse(await runScript({ kind: "console", prefix: host.consolePrefix }, bundle(name, env)));
}

async function runOk(host: TestHost, name: string, env: Env = {}): Promise<ScriptRun> {
    const r = await runOn(host, name, env);
    assert.equal(r.code, 0, `${name} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r;
}

const armEnv = (id: string, snapshot: string, window: number): Env => ({
    SR_DEADMAN_ID: id,
    SR_SNAPSHOT: snapshot,
    SR_WINDOW: String(window),
    SR_RESTORE_SCRIPT: text("host/restore.sh"),
    SR_LIB_SCRIPT: text("host/lib.sh"),
});

/** The effective `sshd -T` lines that stage-validate printed between its markers. */
function effective(stdout: string): string[] {
    const m = /^effective_begin\n([\s\S]*?)\neffective_end$/m.exec(stdout);
    assert.ok(m, `no effective_begin/effective_end block in:\n${stdout}`);
    return m[1].split("\n");
}

async function loginAs(host: TestHost, user: "alice" | "bob") {
    const keys = await ensureClientKeys();
    return sshLogin({ address: host.address, user, keys: [keys.main], connectTimeoutSec: 3 });
}

/** Revert jobs of one dead-man id that are alive: systemd timers, or tagged detached waiters. */
async function deadmanJobs(host: TestHost, id: string): Promise<string[]> {
    const out = host.flavour === "systemd"
        ? await host.consoleOk(`systemctl list-units --no-legend --plain --state=active,activating 'sshremedy-deadman-${id}.*' | awk '{ print $1 }'`)
        : await host.consoleOk(`for p in /proc/[0-9]*; do
  tr '\\000' '\\n' < "$p/cmdline" 2>/dev/null | grep -qx 'sshremedy-deadman-${id}' && echo "\${p#/proc/}"
done; true`);
    return out.split("\n").filter(Boolean);
}

const withDenyAlice = (config: string) => `${config.trimEnd()}\nDenyUsers alice\n`;

describe("host scripts: snapshot, restore, stage-validate, swap, dead-man on real hosts", function () {
    this.timeout(120_000);
    const newHost = hostsPerTest();

    for (const flavour of ["systemd", "sysv"] as Flavour[]) {
        describe(`${flavour} host`, () => {
            it("snapshot → restore puts back the owner and mode of a path recorded without contents (SR_MODES), leaving its files alone", async () => {
                const host = await newHost({ flavour });
                await host.consoleOk("chmod 0750 /home/alice && chown alice:alice /home/alice && echo mine > /home/alice/notes");
                const snap = await runOk(host, "host/snapshot.sh", { SR_SNAPSHOT_ID: "modes", SR_MODES: "/home/alice" });
                assert.match(await host.consoleOk(`cat ${snap.one("snapshot")}/manifest`), /^meta \d+:\d+ 750 \/home\/alice$/m);
                await host.consoleOk("chmod 0777 /home/alice && chown bob /home/alice && echo later > /home/alice/notes");
                const r = await runOk(host, "host/restore.sh", { SR_SNAPSHOT: snap.one("snapshot") });
                assert.deepEqual(r.all("restored_mode"), ["/home/alice"]);
                assert.equal((await host.consoleOk("stat -c '%U %a' /home/alice; cat /home/alice/notes")).trim(), "alice 750\nlater");
            });

            it("snapshot → restore puts back content, mode, owner, a link and a directory, deletes a file recorded absent, reloads iptables and nft rules and restarts sshd", async () => {
                const host = await newHost({ flavour });
                await host.consoleOk(`set -eu
iptables -A INPUT -s 198.51.100.7 -j DROP
printf 'keep me\\n' > /etc/ssh/sr-file && chown 1001:1002 /etc/ssh/sr-file && chmod 640 /etc/ssh/sr-file
ln -s sshd_config /etc/ssh/sr-link
mkdir /etc/ssh/sr-dir && echo a > /etc/ssh/sr-dir/a.conf`);
                const paths = ["/etc/ssh/sshd_config", "/etc/ssh/sr-file", "/etc/ssh/sr-link", "/etc/ssh/sr-dir", "/etc/ssh/sr-absent"];
                const snap = await runOk(host, "host/snapshot.sh", { SR_SNAPSHOT_ID: "before-change", SR_PATHS: paths.join("\n") });
                assert.equal(snap.one("snapshot"), "/var/lib/sshremedy/snapshots/before-change");
                assert.equal(snap.one("created"), "yes");

                await host.consoleOk(`set -eu
echo 'DenyUsers alice' >> /etc/ssh/sshd_config
echo changed > /etc/ssh/sr-file && chown 0:0 /etc/ssh/sr-file && chmod 600 /etc/ssh/sr-file
rm /etc/ssh/sr-link && echo 'not a link' > /etc/ssh/sr-link
rm /etc/ssh/sr-dir/a.conf && echo b > /etc/ssh/sr-dir/b.conf
echo new > /etc/ssh/sr-absent
iptables -D INPUT -s 198.51.100.7 -j DROP && iptables -A INPUT -s 198.51.100.8 -j DROP
nft add table inet sr_added`);
                await host.restartSshd();
                await host.waitForSsh();
                assert.equal((await loginAs(host, "alice")).ok, false, "the changed config did not lock alice out");

                const r = await runOk(host, "host/restore.sh", { SR_SNAPSHOT: snap.one("snapshot") });
                assert.deepEqual(r.all("removed"), ["/etc/ssh/sr-absent"]);
                assert.deepEqual(r.all("restored"), paths.slice(0, 4));
                assert.deepEqual(r.all("firewall").sort(), ["ip6tables", "iptables", "nft"]);
                assert.equal(r.one("service_manager"), flavour === "systemd" ? "systemd" : "sysv");
                assert.equal(r.one("sshd_service"), flavour === "systemd" ? "ssh.service" : "ssh");
                assert.equal(r.one("sshd"), "restarted");

                const state = await host.consoleOk(`cd /etc/ssh
stat -c '%u:%g %a' sr-file; cat sr-file; readlink sr-link; ls sr-dir; ls sr-absent 2>&1 || true
grep -c 'DenyUsers alice' sshd_config || true; iptables -S INPUT; nft list tables`);
                const lines = state.split("\n");
                assert.equal(lines[0], "1001:1002 640");
                assert.equal(lines[1], "keep me");
                assert.equal(lines[2], "sshd_config");
                assert.equal(lines[3], "a.conf");
                assert.match(lines[4], /No such file/);
                assert.equal(lines[5], "0");
                assert.match(state, /-A INPUT -s 198\.51\.100\.7\/32 -j DROP/);
                assert.doesNotMatch(state, /198\.51\.100\.8/);
                assert.doesNotMatch(state, /sr_added/);
                await host.waitForSsh();
                const login = await loginAs(host, "alice");
                assert.ok(login.ok, `sshd was not restarted on the restored config: ${login.symptom}`);
            });

            it("dead-man: armed over an SSH session that then dies, not disarmed, it reverts a lockout by itself within the window and alice logs in again", async () => {
                const host = await newHost({ flavour });
                const original = await host.consoleOk("cat /etc/ssh/sshd_config");
                const snap = (await runOk(host, "host/snapshot.sh", { SR_SNAPSHOT_ID: "pre-swap", SR_PATHS: "/etc/ssh/sshd_config" })).one("snapshot");

                const armedAt = Date.now();
                const armed = await armOverDyingSession(host, armEnv("swap1", snap, 3));
                assert.equal(armed.one("mechanism"), flavour === "systemd" ? "systemd" : "detached");
                assert.equal(armed.one("restore"), "/var/lib/sshremedy/bin/restore.sh");
                assert.equal(fs.existsSync(path.join(host.root, "var/lib/sshremedy/bin/restore.sh")), true);

                const staged = await runOk(host, "sshd-config/stage-validate.sh", { SR_SSHD_CONFIG_CONTENT: withDenyAlice(original) });
                await runOk(host, "host/swap.sh", { SR_STAGED: staged.one("staged") });
                const locked = await loginAs(host, "alice");
                assert.equal(locked.ok, false, "the swapped config did not lock alice out");
                assert.match(locked.symptom, /Permission denied/);

                let back = locked;
                while (!back.ok && Date.now() - armedAt < 8_000) {
                    await sleep(250);
                    back = await loginAs(host, "alice");
                }
                const tookMs = Date.now() - armedAt;
                assert.ok(back.ok, `no revert within 3 s + 5 s: ${back.symptom}`);
                assert.ok(tookMs >= 3_000, `reverted after ${tookMs} ms, before its window`);
                assert.equal(await host.consoleOk("cat /etc/ssh/sshd_config"), original);

                const disarm = await runOn(host, "host/deadman-disarm.sh", { SR_DEADMAN_ID: "swap1" });
                assert.equal(disarm.code, 1, "a disarm after the revert ran must fail the change");
                assert.equal(disarm.one("state"), "fired");
                assert.match(disarm.stderr, /already ran/);
            });

            it("dead-man: armed then disarmed, nothing reverts after the window and no job is left", async () => {
                const host = await newHost({ flavour });
                const original = await host.consoleOk("cat /etc/ssh/sshd_config");
                const snap = (await runOk(host, "host/snapshot.sh", { SR_SNAPSHOT_ID: "pre", SR_PATHS: "/etc/ssh/sshd_config" })).one("snapshot");
                await runOk(host, "host/deadman-arm.sh", armEnv("d1", snap, 2));
                assert.equal((await deadmanJobs(host, "d1")).length > 0, true, "arming left no job to disarm");
                const staged = await runOk(host, "sshd-config/stage-validate.sh", { SR_SSHD_CONFIG_CONTENT: `${original}MaxAuthTries 5\n` });
                await runOk(host, "host/swap.sh", { SR_STAGED: staged.one("staged") });

                const disarm = await runOk(host, "host/deadman-disarm.sh", { SR_DEADMAN_ID: "d1" });
                assert.equal(disarm.one("state"), "disarmed");
                await sleep(3_500);
                assert.equal(await host.consoleOk("cat /etc/ssh/sshd_config"), `${original}MaxAuthTries 5\n`);
                assert.deepEqual(await deadmanJobs(host, "d1"), []);
                assert.equal(await host.consoleOk("ls -A /run/sshremedy"), "");
            });

            it("dead-man: arming the same id twice leaves exactly one job, the second", async () => {
                const host = await newHost({ flavour });
                const snap = (await runOk(host, "host/snapshot.sh", { SR_SNAPSHOT_ID: "pre", SR_PATHS: "/etc/ssh/sshd_config" })).one("snapshot");
                const first = await runOk(host, "host/deadman-arm.sh", armEnv("twice", snap, 60));
                assert.equal(first.one("previous"), "absent");
                const second = await runOk(host, "host/deadman-arm.sh", armEnv("twice", snap, 90));
                assert.equal(second.one("previous"), "disarmed");
                const jobs = await deadmanJobs(host, "twice");
                if (flavour === "systemd") {
                    assert.deepEqual(jobs, ["sshremedy-deadman-twice.timer"]);
                    const trigger = await host.consoleOk("systemctl show -p TimersMonotonic sshremedy-deadman-twice.timer");
                    assert.match(trigger, /OnActiveUSec=1min 30s/);
                } else {
                    assert.deepEqual(jobs, [second.one("pid")]);
                }
                assert.equal((await runOk(host, "host/deadman-disarm.sh", { SR_DEADMAN_ID: "twice" })).one("state"), "disarmed");
                assert.deepEqual(await deadmanJobs(host, "twice"), []);
            });

            it("swap renames the staged file into place with the target's owner and mode and sshd takes it up; the same content again changes nothing", async () => {
                const host = await newHost({ flavour });
                const original = await host.consoleOk("chown 0:1002 /etc/ssh/sshd_config && chmod 640 /etc/ssh/sshd_config && cat /etc/ssh/sshd_config");
                const inodeBefore = (await host.consoleOk("stat -c %i /etc/ssh/sshd_config")).trim();
                const content = `${original}DenyUsers bob\n`;
                const staged = await runOk(host, "sshd-config/stage-validate.sh", { SR_SSHD_CONFIG_CONTENT: content });
                assert.equal(staged.one("staged"), "/etc/ssh/.sshremedy-stage/sshd_config");

                const swap = await runOk(host, "host/swap.sh", { SR_STAGED: staged.one("staged") });
                assert.equal(swap.one("changed"), "yes");
                assert.equal(swap.one("sshd"), "reloaded");
                assert.equal(swap.one("owner"), "0:1002");
                assert.equal(swap.one("mode"), "640");
                const after = await host.consoleOk("stat -c '%u:%g %a %i' /etc/ssh/sshd_config; ls -A /etc/ssh | grep -c sshremedy || true");
                const [ownerMode, leftovers] = after.trim().split("\n");
                const [owner, mode, inode] = ownerMode.split(" ");
                assert.deepEqual([owner, mode], ["0:1002", "640"]);
                assert.notEqual(inode, inodeBefore, "the file was rewritten in place, not renamed over");
                assert.equal(leftovers, "0", "the stage directory was left behind");
                assert.equal(await host.consoleOk("cat /etc/ssh/sshd_config"), content);
                await host.waitForSsh();
                assert.equal((await loginAs(host, "bob")).ok, false, "sshd did not take up the swapped config");
                assert.ok((await loginAs(host, "alice")).ok);

                const again = await runOk(host, "sshd-config/stage-validate.sh", { SR_SSHD_CONFIG_CONTENT: content });
                const noop = await runOk(host, "host/swap.sh", { SR_STAGED: again.one("staged") });
                assert.equal(noop.one("changed"), "no");
                assert.equal(noop.one("sshd"), "none");
                assert.equal((await host.consoleOk("stat -c %i /etc/ssh/sshd_config")).trim(), inode);
            });
        });
    }

    it("stage-validate rejects an invalid config with sshd's message and leaves the live file alone", async () => {
        const host = await newHost();
        const live = await host.consoleOk("cat /etc/ssh/sshd_config");
        const r = await runOn(host, "sshd-config/stage-validate.sh", { SR_SSHD_CONFIG_CONTENT: "Port 22\nPermitRootLogn no\n" });
        assert.equal(r.code, 1);
        assert.equal(r.one("valid"), "no");
        assert.match(r.stderr, /line 2: Bad configuration option: PermitRootLogn/);
        assert.equal(await host.consoleOk("cat /etc/ssh/sshd_config"), live);
    });

    it("stage-validate accepts a valid config and prints the effective values for the connection given (Match applied)", async () => {
        const host = await newHost();
        const content = "DenyUsers bob\nMatch User alice\n  PasswordAuthentication no\n";
        const forAlice = await runOk(host, "sshd-config/stage-validate.sh", {
            SR_SSHD_CONFIG_CONTENT: content, SR_CHECK_CONNECTION: "user=alice,host=client,addr=198.18.0.1",
        });
        assert.equal(forAlice.one("valid"), "yes");
        assert.equal(forAlice.one("target"), "/etc/ssh/sshd_config");
        const alice = effective(forAlice.stdout);
        assert.ok(alice.includes("passwordauthentication no"), alice.join("\n"));
        assert.ok(alice.includes("denyusers bob"));
        // The file staged by the first run is validated again as it stands, for another user.
        const forBob = await runOk(host, "sshd-config/stage-validate.sh", { SR_CHECK_CONNECTION: "user=bob,host=client,addr=198.18.0.1" });
        assert.ok(effective(forBob.stdout).includes("passwordauthentication yes"));
    });

    it("stage-validate refuses a stage directory on another file system than the target (no atomic rename)", async () => {
        const host = await newHost();
        const r = await runOn(host, "sshd-config/stage-validate.sh", { SR_STAGE_DIR: "/run/sr-stage", SR_SSHD_CONFIG_CONTENT: "Port 22\n" });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /not on the file system of \/etc\/ssh\/sshd_config/);
    });

    it("values are data: shell syntax in any SR_* value is neither run nor able to name an odd snapshot", async () => {
        const host = await newHost();
        const payload = "$(touch /tmp/pwned)`touch /tmp/pwned`;touch /tmp/pwned";
        const badId = await runOn(host, "host/snapshot.sh", { SR_SNAPSHOT_ID: `x${payload}`, SR_PATHS: "/etc/ssh/sshd_config" });
        assert.equal(badId.code, 1);
        assert.match(badId.stderr, /SR_SNAPSHOT_ID must be letters, digits/);
        const odd = `/etc/ssh/odd ${payload}`;
        const snap = await runOk(host, "host/snapshot.sh", { SR_SNAPSHOT_ID: "data", SR_PATHS: odd });
        const staged = await runOk(host, "sshd-config/stage-validate.sh", { SR_SSHD_CONFIG_CONTENT: `# ${payload}\nPort 22\n` });
        assert.equal(await host.consoleOk(`cat ${staged.one("staged")}`), `# ${payload}\nPort 22\n`);
        assert.equal(await host.consoleOk(`grep '^absent ' ${snap.one("snapshot")}/manifest`), `absent ${odd}\n`);
        assert.equal(fs.existsSync(path.join(host.root, "tmp/pwned")), false);
    });

    it("snapshot with the same id twice is one snapshot, as first taken", async () => {
        const host = await newHost();
        const env = { SR_SNAPSHOT_ID: "same", SR_PATHS: "/etc/ssh/sr-file" };
        await host.consoleOk("echo first > /etc/ssh/sr-file");
        const a = await runOk(host, "host/snapshot.sh", env);
        await host.consoleOk("echo second > /etc/ssh/sr-file");
        const b = await runOk(host, "host/snapshot.sh", env);
        assert.equal(a.one("created"), "yes");
        assert.equal(b.one("created"), "no");
        assert.equal(b.one("snapshot"), a.one("snapshot"));
        assert.equal(await host.consoleOk("ls -A /var/lib/sshremedy/snapshots"), "same\n");
        await runOk(host, "host/restore.sh", { SR_SNAPSHOT: a.one("snapshot") });
        assert.equal(await host.consoleOk("cat /etc/ssh/sr-file"), "first\n");
    });

    it("snapshot keeps SR_KEEP snapshots, pruning oldest first, never the one it was asked for", async () => {
        const host = await newHost();
        const dir = "/var/lib/sshremedy/snapshots";
        const take = (id: string, keep: number) =>
            runOk(host!, "host/snapshot.sh", { SR_SNAPSHOT_ID: id, SR_PATHS: "/etc/ssh/sshd_config", SR_KEEP: String(keep) });
        for (const id of ["s1", "s2"]) {
            assert.deepEqual((await take(id, 2)).all("pruned"), []);
        }
        assert.deepEqual((await take("s3", 2)).all("pruned"), [`${dir}/s1`]);
        assert.deepEqual((await take("s4", 2)).all("pruned"), [`${dir}/s2`]);
        // s3 is now the oldest; asked for again with room for one, it stays and s4 goes.
        const again = await take("s3", 1);
        assert.equal(again.one("created"), "no");
        assert.deepEqual(again.all("pruned"), [`${dir}/s4`]);
        assert.equal(await host.consoleOk(`ls -A ${dir}`), "s3\n");
    });

    it("sshd with neither systemd nor an init script: swap reloads it with SIGHUP and restore restarts it from its pid file", async () => {
        const host = await newHost({ flavour: "sysv" });
        await host.consoleOk("mv /etc/init.d/ssh /root/ssh.init");
        const original = await host.consoleOk("cat /etc/ssh/sshd_config");
        const pidBefore = (await host.consoleOk("cat /run/sshd.pid")).trim();
        const snap = (await runOk(host, "host/snapshot.sh", { SR_SNAPSHOT_ID: "pre", SR_PATHS: "/etc/ssh/sshd_config" })).one("snapshot");
        const staged = await runOk(host, "sshd-config/stage-validate.sh", { SR_SSHD_CONFIG_CONTENT: withDenyAlice(original) });
        const swap = await runOk(host, "host/swap.sh", { SR_STAGED: staged.one("staged") });
        assert.equal(swap.one("service_manager"), "pidfile");
        assert.equal(swap.one("sshd_service"), "/run/sshd.pid");
        await host.waitForSsh();
        assert.equal((await loginAs(host, "alice")).ok, false, "SIGHUP did not make sshd read the swapped config");
        assert.equal((await host.consoleOk("cat /run/sshd.pid")).trim(), pidBefore, "a reload replaced the listener");

        const restore = await runOk(host, "host/restore.sh", { SR_SNAPSHOT: snap });
        assert.equal(restore.one("sshd"), "restarted");
        assert.notEqual((await host.consoleOk("cat /run/sshd.pid")).trim(), pidBefore);
        await host.waitForSsh();
        assert.ok((await loginAs(host, "alice")).ok);
    });
});

/**
 * Arms a dead-man over a real root SSH session and then kills that session the hard way: the
 * client is SIGKILLed, then every process the session's sshd started is killed on the host: its
 * whole cgroup on systemd (in these hosts that is ssh.service itself, listener included: logind
 * registers no session; `systemctl kill` fails there on a pid outside the container), its
 * process group elsewhere. A revert that lived in the session would die with it.
 */
async function armOverDyingSession(host: TestHost, env: Env): Promise<ScriptRun> {
    const keys = await ensureClientKeys();
    const script = `${bundle("host/deadman-arm.sh", env)}
printf 'session=%s\\n' "$(ps -o sid= -p $$ | tr -d ' ')"
printf 'cgroup=%s\\n' "$(sed -n 's/^0:://p' /proc/$$/cgroup)"
sleep 60
`;
    const client = spawn("ssh", ["-F", "/dev/null", "-i", keys.main, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        `root@${host.address}`, "/bin/sh -s"], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    client.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    client.stdin.end(script);
    await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`arming over ssh timed out: ${stdout} ${stderr}`)), 20_000);
        client.stdout.on("data", (b: Buffer) => {
            stdout += b.toString();
            if (/^cgroup=.*$/m.test(stdout)) {
                clearTimeout(timer);
                resolve();
            }
        });
        client.on("close", (code) => reject(new Error(`ssh exited ${code} before arming: ${stdout} ${stderr}`)));
    });
    client.kill("SIGKILL");
    const armed = parse({ code: 0, stdout, stderr });
    const sid = Number(armed.one("session"));
    if (host.flavour === "systemd") {
        const cgroup = armed.one("cgroup");
        assert.match(cgroup, /^\/system\.slice\/[\w@.-]+$/);
        await host.consoleOk(`for f in $(find /sys/fs/cgroup -path '*${cgroup}/cgroup.procs'); do
  for p in $(cat "$f"); do [ "$p" -gt 0 ] && kill -s KILL "$p" 2>/dev/null || true; done
done`);
        // systemd restarts the sshd it lost.
        await host.waitForSsh();
    } else {
        await host.consoleOk(`kill -s KILL -- -${sid}`);
    }
    const shell = await host.consoleOk(`ps -o stat= -p ${sid} | grep -qv Z && echo alive || echo gone`);
    assert.equal(shell.trim(), "gone", "the session that armed the revert is still running");
    return armed;
}
