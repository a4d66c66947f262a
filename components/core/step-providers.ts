import type { CommandTarget } from "./transport";
import { describeTarget, runScript } from "./transport";
import { composePhase, lastValue, parseKeyValues, Step, withParameters } from "./compose";
import { compareEffective, EffectiveCheck, parseSshdT } from "../sshd-config/effective";
import type { TencentSettings } from "../tencent/settings";
import { rollbackDisk } from "../tencent/cbs";
import type * as pulumi from "@pulumi/pulumi";

/**
 * The pipeline's step providers: what each step does when the engine creates, updates or diffs
 * it. Loaded by path when a step runs (see `providerShim` in pipeline.ts), not serialised into
 * every resource's state: a step's state holds its parameters, not this code nor its scripts.
 */

export interface StepState {
    target: CommandTarget;
    pending: boolean;
    desiredHash: string;
    drift: string[];
    /** The host keys an ssh target may present (from the HostKey step); not compared by the diff. */
    knownHostKeys?: string[];
}

export interface PhaseState extends StepState {
    /** The phase's steps: script names and parameters, composed into shell when the step runs. */
    phase: Step[];
    /** Run when the phase fails midway (the apply phase): puts the host back. */
    onFailure?: Step[];
    /** What a successful onFailure did, for the error (default: the host is back on its snapshot). */
    onFailureDone?: string;
    result?: Record<string, string>;
}

export interface VerifyState extends StepState {
    login: CommandTarget;
    disarm: Step[];
    restore: Step[];
    checks: EffectiveCheck[];
    verifiedAt?: string;
    /** Nothing reaches the host over its target this run: the step does nothing. */
    skip?: boolean;
    /** Tencent Cloud, onFailure "rollback-disk": the disk snapshot to roll back to when the file restore does not bring the login back. */
    rollback?: { settings: TencentSettings; instanceId: string; diskId: string | null; snapshotId: string | null } | null;
}

export interface HostKeyState {
    /** Set when the declaration or the probe failed: the step fails with it, so nothing after it runs. */
    refused: string | null;
    pending: boolean;
    /** What the host's sshd offers now (from the probe). */
    offered: string[];
    pinned: string | null;
    rotated: boolean;
    where: string;
    /** The keys accepted for this host: kept in state from run to run. */
    recorded?: string[];
}

/**
 * The resources change when the host differs from the declaration (`pending`, from the probe)
 * or the declaration itself changed, and never for anything else: a converged host shows no changes.
 */
function stepDiff(olds: StepState & { reaches?: string }, news: StepState) {
    const changes = news.pending || olds.desiredHash !== news.desiredHash
        || (olds.reaches ?? targetIdentity(olds.target)) !== targetIdentity(news.target);
    return { changes, deleteBeforeReplace: false };
}

/**
 * Which host a target reaches, without how it gets in: no key, password or cloud credential. A
 * step reruns when this changes (another host, port, user or console), not when only the
 * operator's own key or credentials were rotated: the host is the same. Older states kept the
 * whole target (`target`, a secret); newer ones keep this as `reaches`, in plain text.
 */
export function targetIdentity(t: CommandTarget | undefined): string {
    // A string, not an object: state comes back with its object keys reordered.
    if (!t) return "";
    switch (t.kind) {
        case "ssh": return JSON.stringify([t.kind, t.host, t.port ?? 22, t.user, t.hostKey ?? null]);
        case "console": return JSON.stringify([t.kind, ...t.prefix]);
        case "tat": return JSON.stringify([t.kind, t.instanceId, t.settings?.region ?? null]);
        default: return JSON.stringify(t);
    }
}

/**
 * What a step keeps in state: what its diff compares, not the scripts it ran (they are inputs,
 * and the file backend writes the whole state again at every step) nor the target's secrets.
 */
function stepOutputs(inputs: StepState): Omit<StepState, "target"> & { reaches: string } {
    return { reaches: targetIdentity(inputs.target), pending: inputs.pending, desiredHash: inputs.desiredHash, drift: inputs.drift };
}

/** An ssh target with the host's known keys, unless it pins its own; other targets as they are. */
function pinned(t: CommandTarget, keys: readonly string[] | undefined): CommandTarget {
    return t.kind === "ssh" && !t.hostKey && keys && keys.length > 0 ? { ...t, knownHostKeys: keys } : t;
}

export const phaseProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: PhaseState) {
        // Nothing reaches the host over its target this run (rescue mode, if anything, repairs it).
        if (inputs.phase.length === 0) {
            return { id: inputs.desiredHash, outs: { ...stepOutputs(inputs), result: {}, generatedHostKeys: [] } };
        }
        const target = pinned(inputs.target, inputs.knownHostKeys);
        const r = await runScript(target, composePhase(inputs.phase));
        const kv = parseKeyValues(r.stdout);
        if (r.code !== 0) {
            const step = lastValue(kv, "failed_step") ?? "phase";
            let cause = `${describeTarget(target)}: ${step} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`;
            if (inputs.onFailure) {
                const back = await runScript(target, composePhase(inputs.onFailure));
                const done = inputs.onFailureDone ?? "the host is back on its snapshot";
                cause += back.code === 0 ? (done ? `; ${done}` : "")
                    : `; restoring failed too (${back.stderr.trim()}): the dead-man revert restores it when its window ends`;
            }
            throw new Error(cause);
        }
        // Host keys made by this phase (sshd had none it could load): the verifying login pins them.
        const generatedHostKeys = kv.filter(([k]) => k === "host_key_generated").map(([, v]) => v);
        return { id: inputs.desiredHash, outs: { ...stepOutputs(inputs), result: Object.fromEntries(kv), generatedHostKeys } };
    },
    async update(_id: string, _olds: PhaseState, news: PhaseState) {
        return { outs: (await phaseProvider.create!(news)).outs };
    },
    async diff(_id: string, olds: PhaseState, news: PhaseState) {
        return stepDiff(olds, news);
    },
};

export const verifyProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: VerifyState) {
        if (inputs.skip) {
            return { id: inputs.desiredHash, outs: { ...stepOutputs(inputs) } };
        }
        const target = pinned(inputs.target, inputs.knownHostKeys);
        const loginTarget = pinned(inputs.login, inputs.knownHostKeys);
        // A fresh login; a host whose sshd has just restarted under load may drop the first
        // attempt, so it gets three, a second apart, before the change counts as failed.
        const probe = 'printf "connection=%s\\nuser=%s\\n" "$SSH_CONNECTION" "$(id -un)"\n';
        let login = await runScript(loginTarget, probe, 30_000);
        for (let attempt = 1; attempt < 3 && login.code !== 0; attempt++) {
            await new Promise((r) => setTimeout(r, 1_000));
            login = await runScript(loginTarget, probe, 30_000);
        }
        const kv = parseKeyValues(login.stdout);
        const user = inputs.login.kind === "ssh" ? inputs.login.user : "root";
        const who = inputs.login.kind === "ssh" ? `${inputs.login.user}@${inputs.login.host}` : "the login";
        const fail = async (cause: string): Promise<never> => {
            const back = await runScript(target, composePhase(inputs.restore));
            const restored = back.code === 0 ? "the host is back on its snapshot"
                : `restoring over ${describeTarget(target)} failed too (${back.stderr.trim()}); the dead-man revert restores it when its window ends`;
            const rb = inputs.rollback;
            if (!rb || !rb.snapshotId || !rb.diskId) throw new Error(`${cause}; ${restored}`);
            // The last resort the guide describes: the whole disk back to the snapshot taken before the change.
            let again = await runScript(loginTarget, probe, 30_000);
            if (again.code === 0) throw new Error(`${cause}; ${restored}, and the login works again`);
            await rollbackDisk(rb.settings, { instanceId: rb.instanceId, diskId: rb.diskId, snapshotId: rb.snapshotId });
            // The instance boots again: its sshd is given a minute to answer.
            for (const until = Date.now() + 60_000; again.code !== 0 && Date.now() < until;) {
                await new Promise((r) => setTimeout(r, 2_000));
                again = await runScript(loginTarget, probe, 30_000);
            }
            throw new Error(`${cause}; ${restored}, but the login still failed, so the disk of ${rb.instanceId} was rolled back to `
                + `snapshot ${rb.snapshotId} (data written since then is lost): ${again.code === 0 ? "the login works again"
                    : `the login still fails (${again.stderr.trim().split("\n").slice(-1)[0] ?? ""})`}`);
        };
        if (login.code !== 0 || lastValue(kv, "user") !== user) {
            const said = (login.stderr.trim() || login.stdout.trim() || `exit ${login.code}`).split("\n").slice(-3).join(" | ");
            return fail(`verification login as ${who} failed: ${said}`);
        }
        // sshd's effective values for this very connection, then the dead-man is disarmed.
        const addr = (lastValue(kv, "connection") ?? "").split(" ")[0];
        const d = await runScript(target, withParameters({ SR_CHECK_CONNECTION: `user=${user},host=${addr},addr=${addr}` }, composePhase(inputs.disarm)));
        if (d.code !== 0) {
            return fail(`disarming the dead-man revert on ${describeTarget(target)} failed: ${d.stderr.trim() || d.stdout.trim()}`);
        }
        const text = d.stdout.split("effective_begin\n")[1]?.split("\neffective_end")[0] ?? "";
        const mismatches = compareEffective(inputs.checks, parseSshdT(text));
        if (mismatches.length > 0) {
            return fail(`sshd's effective values differ from the declaration: ${mismatches
                .map((m) => `${m.keyword} is ${m.actual.join(",") || "(unset)"}, expected ${m.expected.join(",") || "(unset)"}`).join("; ")}`);
        }
        return { id: inputs.desiredHash, outs: { ...stepOutputs(inputs), verifiedAt: new Date().toISOString() } };
    },
    async update(_id: string, _olds: VerifyState, news: VerifyState) {
        return { outs: (await verifyProvider.create!(news)).outs };
    },
    async diff(_id: string, olds: VerifyState, news: VerifyState) {
        return stepDiff(olds, news);
    },
};

/**
 * The keys a host may present, decided before anything changes: the pinned key must be one the
 * host's sshd offers; without one, the keys recorded by the first run must still be offered
 * (as `StrictHostKeyChecking=accept-new` does), unless the declaration says they were rotated.
 * Contacts no host: the probe already read what sshd offers.
 */
export function acceptHostKeys(s: Pick<HostKeyState, "offered" | "pinned" | "rotated" | "where">, recorded: readonly string[] | undefined): string[] {
    const same = (a: string, b: string) => a.split(/\s+/).slice(0, 2).join(" ") === b.split(/\s+/).slice(0, 2).join(" ");
    const offers = (k: string) => s.offered.some((o) => same(o, k));
    if (s.pinned !== null) {
        if (s.offered.length > 0 && !offers(s.pinned)) {
            throw new Error(`host key mismatch on ${s.where}: its sshd offers ${s.offered.map(fingerprint).join(", ")}, `
                + `not the pinned key ${fingerprint(s.pinned)}. Nothing was changed. Fix: if the host's keys were `
                + "replaced on purpose, pin the new key (login.hostKey); otherwise find out who answers at that address");
        }
        return [s.pinned];
    }
    // A host that offers no key at all cannot be an impostor's: sshd there has none it can load,
    // the runtime gate generates them, and the verifying login pins the new ones.
    if (recorded && recorded.length > 0 && !s.rotated && s.offered.length > 0) {
        const gone = recorded.filter((k) => !offers(k));
        if (gone.length > 0) {
            throw new Error(`host key changed on ${s.where}: the key${gone.length > 1 ? "s" : ""} recorded by an earlier run `
                + `(${gone.map(fingerprint).join(", ")}) ${gone.length > 1 ? "are" : "is"} no longer offered; it offers `
                + `${s.offered.map(fingerprint).join(", ") || "no key"}. Nothing was changed. Fix: if the keys were rotated on `
                + "purpose, set login.hostKeyRotated to true for one run (the new keys are recorded), or pin one with login.hostKey");
        }
        // Keys of new types are accepted beside the recorded ones; the recorded ones stay pinned.
        return [...recorded, ...s.offered.filter((k) => !recorded.some((r) => same(r, k)))];
    }
    return [...s.offered];
}

/** The SHA256 fingerprint OpenSSH prints for a known_hosts key text. */
export function fingerprint(key: string): string {
    const [type, blob] = key.split(/\s+/);
    const hash = require("crypto").createHash("sha256").update(Buffer.from(blob ?? "", "base64")).digest("base64").replace(/=+$/, "");
    return `${type} SHA256:${hash}`;
}

/** How the engine hands a dynamic provider a value not known yet (in preview): not a refusal. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const refusedBy = (s: HostKeyState) => (typeof s.refused === "string" && s.refused !== UNKNOWN ? s.refused : null);

export const hostKeyProvider: pulumi.dynamic.ResourceProvider = {
    // A refused host fails here, in preview too, before any step that could change it.
    async check(_olds: HostKeyState, news: HostKeyState) {
        return refusedBy(news)
            ? { inputs: news, failures: [{ property: "", reason: "stopped by the error reported for its component; nothing was sent to change the host" }] }
            : { inputs: news };
    },
    async create(inputs: HostKeyState) {
        if (refusedBy(inputs)) throw new Error(`${inputs.refused} (nothing was sent to change the host)`);
        return { id: "host-key", outs: { ...inputs, recorded: acceptHostKeys(inputs, undefined) } };
    },
    async update(_id: string, olds: HostKeyState, news: HostKeyState) {
        if (refusedBy(news)) throw new Error(`${news.refused} (nothing was sent to change the host)`);
        return { outs: { ...news, recorded: acceptHostKeys(news, olds.recorded) } };
    },
    async diff(_id: string, olds: HostKeyState, news: HostKeyState) {
        const offered = (s: HostKeyState) => JSON.stringify([...s.offered].sort());
        const changes = refusedBy(news) !== null || news.pending || offered(olds) !== offered(news) || olds.pinned !== news.pinned || olds.rotated !== news.rotated;
        return { changes, deleteBeforeReplace: false };
    },
};

