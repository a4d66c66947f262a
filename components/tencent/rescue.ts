import * as crypto from "crypto";
import type { Concern } from "../core/concern";
import { composePhase, lastValue, parseKeyValues, scriptText, Step, withParameters } from "../core/compose";
import { runScript, type ScriptResult, type SshTarget } from "../core/transport";
import { compareEffective, parseSshdT } from "../sshd-config/effective";
import { call, hasCode } from "./api";
import { delay, instanceState, waitInstanceState } from "./cvm";
import type { TencentSettings } from "./settings";

/**
 * The `rescue` way in: when neither SSH nor TAT reaches a Tencent Cloud instance, its system disk
 * is repaired from the instance's rescue mode, with nobody at the VNC console.
 *
 * The CBS snapshot of the disk is NORMAL before this starts (the step depends on it). Then:
 * EnterRescueMode with a password made for this session alone (never stored, never logged) →
 * wait for RESCUE_MODE → SSH into the rescue system as root → find and mount the instance's disk
 * (`rescue-mount.sh`) → every concern's probe inside a chroot of that disk → plan → a snapshot of
 * the files the plan touches (in the rescue system's memory) → the concerns' apply steps in the
 * chroot → the disk's own sshd validates (`sshd -t`, and `sshd -T -C` for the verifying
 * connection against the declaration) → on success the snapshot is written to the disk beside the
 * others; on any failure it is restored and the disk is as it was → unmount → ExitRescueMode →
 * RUNNING → a fresh login from this machine, pinned to the host keys read from the disk. A login
 * that fails after all that puts the files back the same way (rescue mode again) and says so.
 *
 * Each phase in the chroot runs in namespaces of its own (mount, pid with a fresh /proc) and in
 * the session's network namespace (rescue-mount.sh makes it; rescue-firewall.sh loads the firewall
 * the disk boots with into it): it sees the instance's files and no process or address of the
 * rescue system, so a probe that asks what listens on port 22 does not meet the rescue system's
 * own sshd, and the firewall concern repairs the rules the instance will boot with.
 */

/** Probes of the disk in one session at most: two repairs, and the probe that finds nothing left. */
const rescuePasses = 3;

/** Where the disk is mounted on the rescue system. */
export const rescueRoot = "/mnt/sshremedy-root";
/** sshremedy's state for the session inside the chroot: on the tmpfs rescue-mount.sh puts on /run. */
const sessionDir = "/run/sshremedy-rescue";


export interface RescueInputs {
    readonly settings: TencentSettings;
    readonly instanceId: string;
    /** The login that must work afterwards (a secret: its key or password). */
    readonly login: SshTarget;
    /** The concerns to repair on the disk (firewall and SELinux left out: see notFromRescue). */
    readonly concerns: readonly Concern[];
    /** sshd -T -C's connection spec for the verifying login (`user=…,host=…,addr=…`). */
    readonly connection: string;
    /** Names this run in the lock and the snapshot's record. */
    readonly owner: string;
    /** The device of the instance's disk on the rescue system, when the default names are wrong. */
    readonly device?: string;
    /** Seconds the declared login is given once the instance runs again. Default 180. */
    readonly loginWaitSec?: number;
    /** Seconds to wait for each state change (RESCUE_MODE, RUNNING). Default 900. */
    readonly stateTimeoutSec?: number;
    /** Polling interval for the instance's state, ms. Default 3000. */
    readonly pollMs?: number;
    /** Progress lines (the engine prints a provider's stderr). */
    readonly say: (line: string) => void;
}

export interface RescueOutcome {
    /** What the probe on the disk found out of line (before the repair). */
    readonly drift: string[];
    /** The concerns repaired. */
    readonly changed: string[];
    /** The snapshot on the disk of the files as they were (empty when nothing changed). */
    readonly snapshot: string;
    /** Every snapshot of the session, one per repair pass, oldest first (the first is `snapshot`). */
    readonly snapshots: string[];
    /** The host keys read from the disk (and made by the repair), pinned by the verifying login. */
    readonly hostKeys: string[];
    /** Seconds the instance was out of service: from EnterRescueMode to the declared login proven. */
    readonly downtimeSec: number;
    /** Where those seconds went: into rescue mode, the work on the disk, out of it, boot until the login works. */
    readonly phasesSec: { readonly enter: number; readonly repair: number; readonly exit: number; readonly login: number };
    readonly verifiedAt: string;
}

/** A password CVM accepts (8-30 characters, upper, lower, digits and a symbol), made for one session. */
export function oneTimePassword(): string {
    const pick = (set: string, n: number) => Array.from(crypto.randomBytes(n), (b) => set[b % set.length]).join("");
    const chars = [...pick("ABCDEFGHJKLMNPQRSTUVWXYZ", 6), ...pick("abcdefghijkmnpqrstuvwxyz", 6), ...pick("23456789", 6), ...pick("-_=+", 2)];
    // Fisher-Yates with crypto randomness: the classes end up anywhere.
    for (let i = chars.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    return chars.join("");
}

/** The script that runs `phase` inside a chroot of the mounted disk, in namespaces of its own. */
export function inRoot(phase: string): string {
    const b64 = Buffer.from(phase, "utf8").toString("base64").replace(/.{76}/g, "$&\n");
    return [
        "set -u",
        `root='${rescueRoot}'`,
        'mountpoint -q "$root" || { echo "sshremedy: the instance\'s disk is not mounted at $root" >&2; exit 1; }',
        `f="$root${sessionDir}/phase.$$.sh"`,
        "(umask 077; base64 -d > \"$f\") <<'SSHREMEDY_PHASE_END'",
        b64,
        "SSHREMEDY_PHASE_END",
        // The session's network namespace when rescue-mount.sh could make one, else a fresh one per phase.
        "if [ -e /run/netns/sshremedy-rescue ]; then net='ip netns exec sshremedy-rescue'; share=; else net=; share=--net; fi",
        `$net unshare --mount --pid --fork $share --mount-proc="$root/proc" chroot "$root" /bin/sh "${sessionDir}/phase.$$.sh" </dev/null`,
        "rc=$?",
        'rm -f "$f"',
        "exit $rc",
    ].join("\n");
}

function failure(what: string, r: ScriptResult): Error {
    const step = lastValue(parseKeyValues(r.stdout), "failed_step");
    return new Error(`${what}${step ? ` (${step})` : ""} failed (exit ${r.code}): ${(r.stderr.trim() || r.stdout.trim()).split("\n").slice(-4).join(" | ")}`);
}

/** EnterRescueMode, then RESCUE_MODE. An instance already in rescue mode (a session that died) is used as it is. */
async function enterRescue(i: RescueInputs, password: string): Promise<void> {
    const state = await instanceState(i.settings, i.instanceId);
    if (state === "RESCUE_MODE") {
        // Its root password is not this session's: leave it first, then enter again.
        await exitRescue(i);
    }
    try {
        await call(i.settings, "cvm", "EnterRescueMode",
            { InstanceId: i.instanceId, Password: password, Username: "root", StopType: "SOFT_FIRST" }, { retryAmbiguous: false });
    } catch (e) {
        if (!hasCode(e, "UnsupportedOperation.InstanceStateEnterRescueMode")) throw e;
    }
    await waitInstanceState(i.settings, i.instanceId, "RESCUE_MODE", waitOptions(i));
}

async function exitRescue(i: RescueInputs): Promise<void> {
    const state = await instanceState(i.settings, i.instanceId);
    if (state === "RESCUE_MODE") {
        await call(i.settings, "cvm", "ExitRescueMode", { InstanceId: i.instanceId }, { retryAmbiguous: false });
    }
    await waitInstanceState(i.settings, i.instanceId, "RUNNING", waitOptions(i));
}

const waitOptions = (i: RescueInputs) => ({ timeoutMs: (i.stateTimeoutSec ?? 900) * 1000, pollMs: i.pollMs ?? 3000 });

/** The rescue system's sshd answers, and lets root in with the session's password. */
async function rescueLogin(i: RescueInputs, target: SshTarget): Promise<void> {
    const until = Date.now() + 180_000;
    for (;;) {
        const r = await runScript(target, "test -f /etc/passwd && echo rescue=up\n", 30_000);
        if (r.code === 0 && /^rescue=up$/m.test(r.stdout)) return;
        if (Date.now() >= until) throw failure(`logging in to the rescue system of ${i.instanceId} at ${target.host} as root`, r);
        await delay(2_000);
    }
}

/** The declared login, fresh, pinned to the keys read from the disk: until it works or the time is up. */
async function loginWorks(i: RescueInputs, hostKeys: readonly string[], withinMs: number): Promise<ScriptResult> {
    const target: SshTarget = { ...i.login, fresh: true, ...(i.login.hostKey ? {} : { knownHostKeys: [...hostKeys] }) };
    const probe = 'printf "user=%s\\n" "$(id -un)"\n';
    const until = Date.now() + withinMs;
    for (;;) {
        const r = await runScript(target, probe, 30_000);
        if (r.code === 0 && lastValue(parseKeyValues(r.stdout), "user") === i.login.user) return r;
        if (Date.now() >= until) return r.code === 0 ? { ...r, code: 1, stderr: `logged in as ${lastValue(parseKeyValues(r.stdout), "user")}, not ${i.login.user}` } : r;
        await delay(2_000);
    }
}

/** When a session's phases ended (ms since the epoch). */
interface Marks { start: number; inRescue: number; worked: number; running: number }

/** One session in rescue mode: enter, mount, `work` on the disk, unmount, exit; exit even when `work` fails. */
async function session<T>(i: RescueInputs, marks: Marks, work: (runInRoot: (steps: readonly Step[]) => Promise<ScriptResult>, netns: boolean) => Promise<T>): Promise<T> {
    const password = oneTimePassword();
    const rescue: SshTarget = { kind: "ssh", host: i.login.host, port: 22, user: "root", password, fresh: true };
    const secs = (ms: number) => (ms / 1000).toFixed(1);
    marks.start = Date.now();
    i.say(`entering rescue mode (the instance stops; a rescue system boots with its disk attached)`);
    await enterRescue(i, password);
    marks.inRescue = Date.now();
    i.say(`in rescue mode after ${secs(marks.inRescue - marks.start)} s`);
    let result: T | undefined;
    let error: unknown;
    try {
        await rescueLogin(i, rescue);
        const mount = await runScript(rescue, composePhase([{
            script: "tencent/rescue-mount", env: { SR_ROOT: rescueRoot, ...(i.device ? { SR_DEVICES: i.device } : {}) },
        }]));
        if (mount.code !== 0) throw failure("finding and mounting the instance's disk on the rescue system", mount);
        const kv = parseKeyValues(mount.stdout);
        i.say(`the instance's disk is ${lastValue(kv, "device")} (${lastValue(kv, "os") || "unknown system"}), mounted at ${rescueRoot}`);
        const runInRoot = (steps: readonly Step[]) => runScript(rescue,
            inRoot(`${scriptText("tencent/rescue-offline")}\n${withParameters({ SR_STATE_DIR: `${sessionDir}/state` }, composePhase(steps))}`), 600_000);
        result = await work(runInRoot, lastValue(kv, "netns") === "sshremedy-rescue");
    } catch (e) {
        error = e;
    }
    // Unmounted and out of rescue mode whatever happened: the instance must run again.
    const un = await runScript(rescue, composePhase([{ script: "tencent/rescue-unmount", env: { SR_ROOT: rescueRoot } }])).catch((e: Error) => ({ code: 1, stdout: "", stderr: e.message }));
    marks.worked = Date.now();
    i.say(`leaving rescue mode after ${secs(marks.worked - marks.inRescue)} s on the disk (the instance boots from it)`);
    await exitRescue(i);
    marks.running = Date.now();
    i.say(`running again after ${secs(marks.running - marks.start)} s out of service`);
    if (error !== undefined) throw error;
    if (un.code !== 0) throw failure("unmounting the instance's disk", un);
    return result as T;
}

/**
 * Repairs the instance's disk from rescue mode and proves the declared login afterwards. Throws
 * with what was done and what state the disk is in when anything fails.
 */
export async function repairFromRescue(i: RescueInputs): Promise<RescueOutcome> {
    const { planHost } = require("../core/pipeline") as typeof import("../core/pipeline");
    // The run decided on rescue mode before the security group admitted the login's sources: a
    // login refused only there works now, and the instance is not stopped for nothing.
    const now = await loginWorks(i, [], 0);
    if (now.code === 0) {
        i.say("the declared login works now (the security group admitted it since the probe): rescue mode is not needed, nothing was stopped");
        return {
            drift: [], changed: [], snapshot: "", snapshots: [], hostKeys: [], downtimeSec: 0,
            phasesSec: { enter: 0, repair: 0, exit: 0, login: 0 }, verifiedAt: new Date().toISOString(),
        };
    }
    const marks: Marks = { start: 0, inRescue: 0, worked: 0, running: 0 };
    const kept: string[] = [];
    const changed: string[] = [];
    const drift: string[] = [];
    let plan!: ReturnType<typeof planHost>;
    const generated: string[] = [];
    try {
        await session(i, marks, async (runInRoot, netns) => {
            const lock = { SR_LOCK_OWNER: i.owner };
            // The firewall is the running kernel's: in the session's network namespace, loaded as the
            // disk's boot loads it, the firewall concern probes and repairs what the instance will boot with.
            let concerns = [...i.concerns];
            if (concerns.some((c) => c.name === "firewall-allowlist")) {
                const fw = netns ? await runInRoot([{ script: "tencent/rescue-firewall" }]) : undefined;
                const loaded = fw ? parseKeyValues(fw.stdout).filter(([k]) => k === "boot_firewall").map(([, v]) => v) : [];
                if (!fw || fw.code !== 0 || loaded.includes("firewalld")) {
                    const why = !fw ? "the rescue system could not make a network namespace (ip netns)"
                        : fw.code !== 0 ? failure("loading the firewall the disk boots with", fw).message : "firewalld starts at boot, and its rules need its daemon";
                    i.say(`firewall-allowlist is not repaired from rescue mode (${why}): the next run that reaches the instance checks it`);
                    concerns = concerns.filter((c) => c.name !== "firewall-allowlist");
                } else {
                    i.say(`the firewall the disk boots with: ${loaded.join(", ")}`);
                }
            }
            // Snapshots of this session, oldest first: a failure puts them back newest first.
            const working: string[] = [];
            const putBack = async (why: string): Promise<never> => {
                if (working.length === 0) throw new Error(`${why}; nothing was changed on the disk`);
                let back: ScriptResult = { code: 0, stdout: "", stderr: "" };
                for (const w of [...working].reverse()) {
                    back = await runInRoot([{ script: "host/restore", env: { SR_SNAPSHOT: w, SR_RESTORE_BOOT: "yes", SR_LOCK_OWNER: i.owner } }]);
                    if (back.code !== 0) break;
                }
                throw new Error(`${why}; ${back.code === 0 ? "the disk's files were put back as they were (nothing of the attempt is left on the disk)"
                    : `putting the files back failed too (${failure("the restore", back).message}): the CBS snapshot taken before the run holds the disk as it was`}`);
            };
            // A repair can show what it hid (systemctl cannot say whether sshd's unit is enabled while
            // libcrypto is gone): the disk is probed again after each pass, at most three.
            for (let pass = 1; pass <= rescuePasses; pass++) {
                const probe = await runInRoot([{ script: "host/host-keys", label: "host-keys" }, ...concerns.map((c) => ({ ...c.probe, label: c.name }))]);
                if (probe.code !== 0) return putBack(failure("probing the instance's disk", probe).message);
                let p: ReturnType<typeof planHost>;
                try {
                    p = planHost(concerns, probe.stdout);
                } catch (e) {
                    return putBack(e instanceof Error ? e.message : String(e));
                }
                if (pass === 1) plan = p;
                if (!p.pending) {
                    if (pass === 1) i.say("nothing on the disk differs from the declaration: nothing is changed");
                    break;
                }
                if (pass === rescuePasses) return putBack(`the disk still differs from the declaration after ${rescuePasses - 1} repairs: ${p.drift.join("; ")}`);
                for (const line of p.drift) i.say(`on the disk${pass > 1 ? ` (after repair ${pass - 1})` : ""}: ${line}`);
                const snap = await runInRoot([
                    { script: "host/lock", env: { ...lock, SR_LOCK_ACTION: "acquire", SR_LOCK_WAIT: 5, SR_LOCK_LEASE: 3600, SR_EXPECT_GENERATION: p.generation ?? "" } },
                    {
                        script: "host/snapshot", env: {
                            SR_SNAPSHOT_ID: `rescue-${Date.now().toString(36)}-${pass}`, SR_SNAPSHOT_DIR: `${sessionDir}/snapshots`,
                            SR_PATHS: p.paths.join("\n"), SR_MODES: p.modes.join("\n"), SR_KEEP: rescuePasses, SR_SNAPSHOT_RUN: i.owner,
                        },
                    },
                ]);
                if (snap.code !== 0) return putBack(failure("the snapshot of the files the repair changes", snap).message);
                working.push(lastValue(parseKeyValues(snap.stdout), "snapshot") ?? "");
                const steps: Step[] = concerns.flatMap((c) => p.plans[c.name].apply.map((x) => ({ ...x, label: x.label ?? `${c.name}:${x.script}` })));
                steps.push({ script: "tencent/rescue-validate" }, { script: "host/effective", env: { SR_CHECK_CONNECTION: i.connection } });
                const applied = await runInRoot(steps);
                const kv = parseKeyValues(applied.stdout);
                generated.push(...kv.filter(([k]) => k === "host_key_generated").map(([, v]) => v));
                const text = applied.stdout.split("effective_begin\n")[1]?.split("\neffective_end")[0] ?? "";
                const checks = Object.values(p.plans).flatMap((x) => [...(x.effective ?? [])]);
                const mismatches = applied.code === 0 ? compareEffective(checks, parseSshdT(text)) : [];
                if (applied.code !== 0 || mismatches.length > 0) {
                    return putBack(applied.code !== 0 ? failure("the repair", applied).message
                        : `the disk's sshd would not apply the declaration: ${mismatches.map((m) => `${m.keyword} is ${m.actual.join(",") || "(unset)"}, expected ${m.expected.join(",") || "(unset)"}`).join("; ")}`);
                }
                for (const [n, x] of Object.entries(p.plans)) if (x.pending && !changed.includes(n)) changed.push(n);
                drift.push(...p.drift);
            }
            if (working.length === 0) return;
            const keep = await runInRoot([
                ...working.map((w) => ({ script: "tencent/rescue-keep", env: { SR_SNAPSHOT: w } })),
                { script: "host/lock", env: { ...lock, SR_LOCK_ACTION: "release" } },
            ]);
            if (keep.code !== 0) return putBack(failure("recording the snapshots on the disk", keep).message);
            kept.push(...parseKeyValues(keep.stdout).filter(([k]) => k === "snapshot").map(([, v]) => v));
            i.say(`repaired on the disk: ${changed.join(", ")}; snapshot${kept.length > 1 ? "s" : ""} ${kept.join(", ")}`);
        });
    } catch (e) {
        throw new Error(`${i.instanceId}: the repair through rescue mode failed: ${e instanceof Error ? e.message : String(e)}; the instance is out of rescue mode`);
    }
    const hostKeys = [...generated, ...plan.hostKeys.filter((k) => !generated.includes(k))];
    const login = await loginWorks(i, hostKeys, (i.loginWaitSec ?? 180) * 1000);
    const proven = Date.now();
    const sec = (ms: number) => Math.round(ms / 100) / 10;
    const downtimeSec = sec(proven - marks.start);
    if (login.code !== 0) {
        const said = (login.stderr.trim() || login.stdout.trim() || `exit ${login.code}`).split("\n").slice(-2).join(" | ");
        if (kept.length === 0) {
            throw new Error(`${i.instanceId}: after rescue mode the login as ${i.login.user}@${i.login.host} still fails (${said}); nothing on the disk was changed`);
        }
        // Doubt after the change: the files go back, the same way they came.
        let back = "";
        try {
            await session(i, { start: 0, inRescue: 0, worked: 0, running: 0 }, async (runInRoot) => {
                for (const k of [...kept].reverse()) {
                    const r = await runInRoot([{ script: "host/restore", env: { SR_SNAPSHOT: k, SR_RESTORE_BOOT: "yes" } }]);
                    if (r.code !== 0) throw failure(`restoring the files from ${k}`, r);
                }
            });
            back = `the files were put back from ${kept.join(", ")} through rescue mode again`;
        } catch (e) {
            back = `putting the files back failed too (${e instanceof Error ? e.message : String(e)}): the CBS snapshot taken before the run holds the disk as it was`;
        }
        throw new Error(`${i.instanceId}: the disk was repaired through rescue mode, but the login as ${i.login.user}@${i.login.host} still fails (${said}); ${back}`);
    }
    return {
        drift: drift.length > 0 ? drift : plan.drift, changed,
        snapshot: kept[0] ?? "", snapshots: kept, hostKeys, downtimeSec, verifiedAt: new Date(proven).toISOString(),
        phasesSec: {
            enter: sec(marks.inRescue - marks.start), repair: sec(marks.worked - marks.inRescue),
            exit: sec(marks.running - marks.worked), login: sec(proven - marks.running),
        },
    };
}
