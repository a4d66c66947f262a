import * as crypto from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { Concern, ConcernPlan } from "./concern";
import { CommandTarget, CommandTargetInput, describeTarget, runScript } from "./transport";
import { composePhase, lastValue, parseKeyValues, splitByStep, Step } from "./compose";
import type { TencentSettings } from "../tencent/settings";
import { DiskSnapshot, RescueRepair, SecurityGroupAdmission } from "../tencent/steps";
import { isTatUnreachableError } from "../tencent/tat";
import { fingerprint } from "./step-providers";
import { providerShim } from "./provider-shim";
import { causesOf, rankCauses } from "../cli/causes";
import type { LoginSymptom } from "../cli/symptoms";

export { acceptHostKeys, fingerprint } from "./step-providers";

/**
 * The lockout-proof pipeline for one host, shared by every component: probe (program time, one
 * round trip; in preview too unless the preview is offline) → `<name>-host-key` (the host's keys
 * are the ones recorded or pinned, else nothing changes) → `<name>-snapshot` → `<name>-apply`
 * (dead-man armed first, then each concern's steps, sshd restarted last) → `<name>-verify` (a
 * fresh login from this machine against the pinned keys, sshd's effective values, disarm).
 * Each step is one round trip at most.
 */

/** The login that must work once the change is in, with every value known and validated. */
export interface LoginSpec {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    /** The host's public key as in known_hosts (`ssh-ed25519 AAAA…`): the only key accepted. */
    readonly hostKey?: string;
    /** Accept host keys that differ from the ones recorded by an earlier run, and record them. */
    readonly hostKeyRotated: boolean;
    /** Where the login comes from (addresses or CIDRs); a cloud firewall admits them. */
    readonly sources?: readonly string[];
}

/** What happens in the cloud around the repair of a Tencent Cloud instance (target kind `tat`). */
export interface TencentCloudSteps {
    readonly settings: pulumi.Output<TencentSettings>;
    readonly instanceId: pulumi.Input<string>;
    readonly systemDiskId?: pulumi.Input<string>;
    /** A CBS snapshot of the system disk before any change, kept this many days; false: none. */
    readonly diskSnapshot: { readonly retentionDays: number } | false;
    /** Admit the login's sources on its port in the instance's security group. */
    readonly securityGroup: boolean;
    /** When the verifying login still fails after the files are restored: roll the disk back too. */
    readonly onFailure: "restore-files" | "rollback-disk";
    /** Repair the disk from rescue mode when neither SSH nor TAT reaches the instance (declared allowed). */
    readonly rescue: boolean;
}

/**
 * What the rescue step needs to rebuild the concerns where it runs (its provider process): the
 * declaration as plain data (no key, no password), the concerns repaired from rescue mode, and the
 * verifying connection as `sshd -T -C` takes it.
 */
export interface RescueAccess {
    readonly args: unknown;
    readonly only: readonly string[];
    readonly connection: string;
    readonly device?: string;
    /** Seconds the declared login is given once the instance runs again. */
    readonly loginWaitSec: number;
    /** Concerns the declaration manages that rescue mode leaves to a later run (the running kernel's). */
    readonly leftOut: readonly string[];
}

/** What the pipeline runs, known only once every input of the declaration is. */
export interface PipelineSpec {
    readonly concerns: readonly Concern[];
    readonly login: LoginSpec;
    /**
     * Why the declaration cannot run (a value known only at deploy time failed its check): already
     * reported as the component's error; the pipeline then contacts no host and changes nothing.
     */
    readonly refused?: string;
    /** Set when the declaration allows rescue mode (Tencent Cloud). */
    readonly rescue?: RescueAccess;
}

export interface PipelineArgs {
    readonly target: pulumi.Input<CommandTargetInput>;
    /**
     * The validated declaration. An Output: values that come from other resources are known only
     * at deploy time, and the declaration edge validates them before this resolves, so nothing is
     * sent to a host for a declaration that failed validation.
     */
    readonly spec: pulumi.Output<PipelineSpec>;
    /** The verifying login's key or password (Pulumi secrets): one of the two. */
    readonly privateKey?: pulumi.Input<string>;
    readonly password?: pulumi.Input<string>;
    /** Seconds after which the host restores its snapshot unless the change was verified. */
    readonly deadmanWindowSec: number;
    /** Seconds a run waits for another run's lock on the host before it fails, changing nothing. */
    readonly lockWaitSec: number;
    readonly snapshotsKept: number;
    /** In preview, plan from the declaration alone and contact no host. `pulumi up` still probes first. */
    readonly offlinePreview: boolean;
    /** A Tencent Cloud instance: the disk snapshot and security-group steps. */
    readonly tencent?: TencentCloudSteps;
}

export interface PipelineOutputs {
    readonly drift: pulumi.Output<string[]>;
    readonly snapshot: pulumi.Output<string | undefined>;
    readonly verifiedAt: pulumi.Output<string | undefined>;
    /** The concerns that were out of line with their declaration when this run probed. */
    readonly pendingConcerns: pulumi.Output<string[]>;
    /** The host keys every SSH connection of the pipeline accepts (pinned, or recorded on first use). */
    readonly hostKeys: pulumi.Output<string[]>;
    /** Their SHA256 fingerprints as OpenSSH prints them (`ssh-ed25519 SHA256:…`), new keys first. */
    readonly hostKeyFingerprints: pulumi.Output<string[]>;
    /** Tencent Cloud: the CBS snapshot taken before the last change (`snap-…`). */
    readonly diskSnapshot: pulumi.Output<string | undefined>;
    /** The causes this run's probe found (the guide's catalogue, most likely first), each with its evidence. */
    readonly diagnosis: pulumi.Output<Diagnosed[]>;
    /** Tencent Cloud: what the last repair through rescue mode did (undefined when none ran). */
    readonly rescue: pulumi.Output<RescueReport | undefined>;
    /**
     * Per gate (concern), what this run's probe found out of line and where (file and line, rule
     * and chain, account field), the change or the report each line stands for; `refused` holds
     * why nothing was done, when something stopped the run.
     */
    readonly evidence: pulumi.Output<Record<string, string[]>>;
}

/** The pipeline's step resources: types of their own, so `pulumi stack` and policies tell them apart. */
export const stepTypes = {
    hostKey: "pulumi-nodejs:dynamic/sshremedy:HostKey",
    snapshot: "pulumi-nodejs:dynamic/sshremedy:Snapshot",
    apply: "pulumi-nodejs:dynamic/sshremedy:Apply",
    verify: "pulumi-nodejs:dynamic/sshremedy:Verify",
} as const;

/** Names this program run in the host locks it takes (lock.sh). */
const runNonce = crypto.randomBytes(6).toString("hex");

/** The step providers, loaded by path in the provider process (see provider-shim.ts). */
const providers = path.join(__dirname, "step-providers");
const hostKeyProvider = providerShim(providers, "hostKeyProvider", ["check", "create", "update", "diff"]);
const phaseProvider = providerShim(providers, "phaseProvider", ["create", "update", "diff"]);
const verifyProvider = providerShim(providers, "verifyProvider", ["create", "update", "diff"]);

/** One step of the pipeline as a resource of its own type; the old generic type is an alias. */
class PipelineStep extends pulumi.dynamic.Resource {
    declare readonly result: pulumi.Output<Record<string, string> | undefined>;
    declare readonly verifiedAt: pulumi.Output<string | undefined>;
    declare readonly recorded: pulumi.Output<string[] | undefined>;
    declare readonly generatedHostKeys: pulumi.Output<string[] | undefined>;

    constructor(type: string, provider: pulumi.dynamic.ResourceProvider, name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        super(provider, name, { result: undefined, verifiedAt: undefined, recorded: undefined, generatedHostKeys: undefined, ...props },
            pulumi.mergeOptions(opts, {
                additionalSecretOutputs: ["target", "login", "rollback"],
                aliases: [{ type: "pulumi-nodejs:dynamic:Resource" }],
            }),
            "sshremedy", type.slice(type.lastIndexOf(":") + 1));
    }
}

interface HostPlan {
    /** By concern name. A plain object: values inside Outputs do not keep a Map's prototype. */
    readonly plans: Readonly<Record<string, ConcernPlan>>;
    readonly pending: boolean;
    readonly drift: string[];
    readonly paths: string[];
    readonly modes: string[];
    /** The public host keys sshd offers, as known_hosts key text. */
    readonly hostKeys: string[];
    /** The host's change generation when probed (lib.sh): the run changes nothing if it moved. */
    readonly generation?: string;
    /** What refuses the login, as `sshremedy diagnose` says it (the guide's causes, with evidence). */
    readonly causes?: Diagnosed[];
    /** Why nothing may run on this host (see PipelineSpec.refused, or the probe failed). */
    readonly refused?: string;
    /**
     * Neither the transport nor the declared login reaches the host: `rescue` when this run repairs
     * it from rescue mode instead (the steps over the transport then do nothing); `why` says what failed.
     */
    readonly unreachable?: { readonly rescue: boolean; readonly why: string };
}

/** What a repair through rescue mode did, as the component exports it. */
export interface RescueReport {
    readonly drift: string[];
    readonly changed: string[];
    readonly snapshot: string;
    /** One per repair pass on the disk, oldest first; `snapshot` is the first. */
    readonly snapshots: string[];
    /** Seconds out of service, from EnterRescueMode to the login proven, and where they went. */
    readonly downtimeSec: number;
    readonly phasesSec: { readonly enter: number; readonly repair: number; readonly exit: number; readonly login: number };
    readonly verifiedAt: string;
}

/**
 * Reports why nothing may be done to a host as `resource`'s error, and returns the plan that
 * carries it: the host-key step fails its check with it, which fails a preview as well as an
 * update before any step runs. Not thrown: a rejected input reaches the user wrapped in
 * serialisation messages, and an unhandled rejection holds the program for half a minute.
 */
export async function refuse(message: string, resource: pulumi.Resource): Promise<void> {
    await pulumi.log.error(message, resource);
}

/**
 * The plan of a Tencent Cloud instance TAT cannot reach, rescue mode allowed: when the declared
 * login still works, nothing is done (the instance is not stopped for a host that admits its
 * login; its concerns are checked by the next run that reaches it); when it fails too, this run
 * repairs the disk from rescue mode.
 */
async function unreachablePlan(why: string, login: CommandTarget, parent: pulumi.Resource): Promise<HostPlan> {
    const works = await runScript(login, "true\n", 30_000);
    const base = { plans: {}, pending: false, drift: [], paths: [], modes: [], hostKeys: [] };
    // The transport's error without its advice on what is left (rescue mode is what follows here).
    const failed = why.split(". What is left")[0];
    if (works.code === 0) {
        await pulumi.log.warn(`${failed}. The declared login works, so the instance is not stopped for rescue mode; `
            + "nothing was checked or changed on it this run", parent);
        return { ...base, unreachable: { rescue: false, why } };
    }
    const said = (works.stderr.trim() || `exit ${works.code}`).split("\n").slice(-1)[0];
    await pulumi.log.info(`${failed}, and the declared login fails (${said}): `
        + "this run repairs the system disk from rescue mode, after its CBS snapshot (the instance stops for a few minutes)", parent);
    return { ...base, unreachable: { rescue: true, why: `${failed}; the declared login fails: ${said}` } };
}

/** The plan of a host nothing may be done to: no change, nothing to snapshot. */
function refusedPlan(why: string): HostPlan {
    return { plans: {}, pending: false, drift: [], paths: [], modes: [], hostKeys: [], refused: why };
}

/** One cause of a diagnosis as a stack exports it. */
export interface Diagnosed {
    readonly id: string;
    readonly title: string;
    readonly guide: string;
    readonly concern: string;
    readonly evidence: string[];
    readonly fix: string;
    /** False for drift that does not refuse the login. */
    readonly blocking: boolean;
}

/** The pipeline makes no login attempt before it changes anything: causes rank by what they are. */
const noAttempt: LoginSymptom = { kind: "other", ok: false, message: "", methodsOffered: [], attempts: 0 };

/** Plans every concern from one framed probe output. */
export function planHost(concerns: readonly Concern[], probeStdout: string): HostPlan {
    const framed = splitByStep(probeStdout);
    const plans: Record<string, ConcernPlan> = {};
    for (const c of concerns) {
        const out = framed.get(c.name);
        if (out === undefined) {
            throw new Error(`the probe printed nothing for ${c.name}`);
        }
        plans[c.name] = c.plan(out);
    }
    const all = Object.values(plans);
    return {
        plans,
        pending: all.some((p) => p.pending),
        drift: all.flatMap((p) => [...p.drift]),
        paths: [...new Set(all.flatMap((p) => [...p.paths]))],
        modes: [...new Set(all.flatMap((p) => [...(p.modes ?? [])]))],
        hostKeys: parseKeyValues(framed.get("host-keys") ?? "").filter(([k]) => k === "host_key").map(([, v]) => v),
        generation: lastValue(parseKeyValues(framed.get("host-keys") ?? ""), "generation"),
        causes: rankCauses(causesOf(new Map(Object.entries(plans)), [], framed), noAttempt)
            .map(({ id, title, guide, concern, evidence, fix, blocking }) => ({ id, title, guide, concern, evidence: [...evidence], fix, blocking })),
    };
}

/** Declares the pipeline's resources under `parent`. */
export function hostPipeline(parent: pulumi.Resource, name: string, args: PipelineArgs): PipelineOutputs {
    const target = pulumi.output(args.target) as pulumi.Output<CommandTarget>;
    const spec = args.spec;
    const desiredHash = spec.apply((s) => crypto.createHash("sha256")
        .update(JSON.stringify([s.concerns.map((c) => [c.name, c.declaration]), s.login])).digest("hex").slice(0, 16));
    const deadmanId = `sshremedy-${name.replace(/[^A-Za-z0-9._-]/g, "-")}`;
    // This run, as the host lock names its holder: the stack, the host's name and a nonce.
    const lockOwner = `${pulumi.getStack()}.${name}.${runNonce}`.replace(/[^A-Za-z0-9._-]/g, "-");
    const lockStep = (action: "release"): Step => ({ script: "host/lock", env: { SR_LOCK_ACTION: action, SR_LOCK_OWNER: lockOwner } });
    const offline = args.offlinePreview && pulumi.runtime.isDryRun();
    const login = pulumi.all([spec.login, args.privateKey, args.password]).apply(([l, privateKey, password]): CommandTarget => ({
        kind: "ssh", host: l.host, port: l.port, user: l.user, privateKey, password, fresh: true, ...(l.hostKey ? { hostKey: l.hostKey } : {}),
    }));

    // Under an offline preview the plan stays unknown: the steps show as possible changes and
    // policy packs judge the declaration, with no host contacted.
    const plan: pulumi.Output<HostPlan> = pulumi.unsecret(pulumi.all([target, spec, login]).apply(async ([t, s, l]) => {
        if (offline) {
            return pulumi.unknown as unknown as HostPlan;
        }
        if (s.refused) {
            return refusedPlan(s.refused);
        }
        let r: Awaited<ReturnType<typeof runScript>>;
        try {
            r = await runScript(t, composePhase([
                { script: "host/host-keys", label: "host-keys" },
                ...s.concerns.map((c) => ({ ...c.probe, label: c.name })),
            ]));
        } catch (e) {
            // The transport itself could not reach the host (a TAT agent offline: the message says
            // what is left). Reported, not thrown: nothing runs on this host.
            const why = `${name}: probing ${describeTarget(t)} failed: ${e instanceof Error ? e.message : String(e)}`;
            if (isTatUnreachableError(e) && args.tencent && s.rescue) {
                return unreachablePlan(why, l, parent);
            }
            await refuse(isTatUnreachableError(e) && args.tencent ? `${why}. Rescue mode is not allowed for this host: set `
                + "tencent.rescue.allowed to true to let sshremedy repair its disk from rescue mode (the instance stops for a few minutes), "
                + "or use the VNC console" : why, parent);
            return refusedPlan(why);
        }
        if (r.code !== 0) {
            // Reported as the component's error (not thrown: a rejected input reaches the user
            // wrapped in serialisation messages, and late); the host-key step then stops the run.
            const why = `${name}: probing ${describeTarget(t)} failed: ${r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`}`;
            await refuse(why, parent);
            return refusedPlan(why);
        }
        try {
            return planHost(s.concerns, r.stdout);
        } catch (e) {
            // A concern that found a cause it must not fix on its own (an account the declaration
            // says to leave alone, a key file outside the home) says why; nothing is changed.
            const why = `${name}: ${e instanceof Error ? e.message : String(e)}`;
            await refuse(why, parent);
            return refusedPlan(why);
        }
    }));

    const hostKey = new PipelineStep(stepTypes.hostKey, hostKeyProvider, `${name}-host-key`, {
        refused: plan.apply((p) => p.refused ?? null),
        pending: plan.pending,
        offered: plan.hostKeys,
        pinned: spec.login.apply((l) => l.hostKey ?? null),
        rotated: spec.login.hostKeyRotated,
        where: spec.login.apply((l) => `${l.host}:${l.port}`),
    }, { parent });
    const hostKeys = hostKey.recorded.apply((k) => k ?? []);
    // Every SSH connection after the probe accepts only those keys (the steps pin them when they run).
    const common = { target, pending: plan.pending, desiredHash, drift: plan.drift, knownHostKeys: hostKeys };

    // Tencent Cloud: the disk is snapshotted by the cloud before anything reaches the host.
    const tc = args.tencent;
    const stackName = pulumi.getStack();
    const disk = tc && tc.diskSnapshot ? new DiskSnapshot(`${name}-disk-snapshot`, {
        settings: tc.settings, instanceId: tc.instanceId, pending: plan.apply((p) => p.pending || p.unreachable?.rescue === true), desiredHash,
        name: `sshremedy-${stackName}-${name}`.slice(0, 60), tags: { stack: stackName, host: name, "managed-by": "sshremedy" },
        retentionDays: tc.diskSnapshot.retentionDays, systemDiskId: tc.systemDiskId,
    }, { parent, dependsOn: [hostKey] }) : undefined;
    const admission = tc && tc.securityGroup ? new SecurityGroupAdmission(`${name}-security-group`, {
        settings: tc.settings, instanceId: tc.instanceId, port: spec.login.port,
        sources: spec.login.apply((l) => [...(l.sources ?? [])]), owner: `${stackName}/${name}`,
    }, { parent, dependsOn: [hostKey] }) : undefined;

    const snapshot = new PipelineStep(stepTypes.snapshot, phaseProvider, `${name}-snapshot`, {
        ...common,
        phase: pulumi.all([plan, desiredHash]).apply(([p, hash]): Step[] => p.unreachable ? [] : [{
            // One run at a time changes the host, and only from a probe of the host as it still is.
            script: "host/lock",
            env: {
                SR_LOCK_ACTION: "acquire", SR_LOCK_OWNER: lockOwner, SR_LOCK_WAIT: args.lockWaitSec,
                SR_LOCK_LEASE: args.deadmanWindowSec + 30, SR_EXPECT_GENERATION: p.generation ?? "",
            },
        }, {
            script: "host/snapshot",
            env: {
                SR_SNAPSHOT_ID: `${hash}-${Date.now().toString(36)}`, SR_PATHS: p.paths.join("\n"), SR_MODES: p.modes.join("\n"),
                SR_KEEP: args.snapshotsKept, SR_SNAPSHOT_RUN: lockOwner,
            },
        }]),
        // A snapshot that could not be made (a full disk) lets go of the lock it took.
        onFailure: [lockStep("release")],
        onFailureDone: "",
    }, { parent, dependsOn: disk ? [disk] : [hostKey] });
    const snapshotPath = snapshot.result.apply((r) => r?.snapshot);
    const restore = snapshotPath.apply((snap): Step[] => [
        { script: "host/deadman-disarm", env: { SR_DEADMAN_ID: deadmanId }, optional: true },
        { script: "host/restore", env: { SR_SNAPSHOT: snap ?? "" } },
        lockStep("release"),
    ]);

    const apply = new PipelineStep(stepTypes.apply, phaseProvider, `${name}-apply`, {
        ...common,
        onFailure: restore,
        phase: pulumi.all([plan, snapshotPath, spec]).apply(([p, snap, s]) => {
            if (p.unreachable) return [];
            const steps: Step[] = [{
                script: "host/deadman-arm",
                env: {
                    SR_DEADMAN_ID: deadmanId, SR_SNAPSHOT: snap ?? "", SR_WINDOW: args.deadmanWindowSec, SR_LOCK_OWNER: lockOwner,
                    SR_RESTORE_SCRIPT: { script: "host/restore" }, SR_LIB_SCRIPT: { script: "host/lib" },
                },
            }];
            for (const c of s.concerns) {
                steps.push(...p.plans[c.name].apply.map((x) => ({ ...x, label: x.label ?? `${c.name}:${x.script}` })));
            }
            const restart = Object.values(p.plans).some((x) => x.restartSshd);
            steps.push({ script: "host/sshd-restart", env: { SR_RESTART: restart ? "yes" : "no" } });
            return steps;
        }),
    }, { parent, dependsOn: [snapshot] });

    // Keys this run generated (apply) are the host's keys from now on: the verifying login pins
    // them, and they are recorded for later runs.
    const keysAfter = pulumi.all([hostKeys, apply.generatedHostKeys]).apply(([known, made]) => [
        ...(made && made.length > 0 ? made : []),
        ...known.filter((k) => !(made ?? []).some((m) => m === k)),
    ]);
    const verify = new PipelineStep(stepTypes.verify, verifyProvider, `${name}-verify`, {
        ...common,
        knownHostKeys: keysAfter,
        login,
        // Nothing reaches the host this way (rescue mode, if anything, verifies its own repair).
        skip: plan.apply((p) => p.unreachable !== undefined),
        checks: plan.apply((p) => Object.values(p.plans).flatMap((x) => [...(x.effective ?? [])])),
        rollback: tc && disk && tc.onFailure === "rollback-disk"
            ? pulumi.all([tc.settings, tc.instanceId, disk.diskId, disk.snapshotId]).apply(([settings, instanceId, diskId, snapshotId]) =>
                ({ settings, instanceId, diskId, snapshotId }))
            : null,
        // SR_CHECK_CONNECTION is set when the login has shown which connection it is.
        disarm: [
            { script: "host/effective" },
            { script: "host/deadman-disarm", env: { SR_DEADMAN_ID: deadmanId } },
            lockStep("release"),
        ],
        restore,
    }, { parent, dependsOn: admission ? [apply, admission] : [apply] });

    // Tencent Cloud, rescue mode allowed: repairs the disk when nothing else reaches the instance,
    // only after its CBS snapshot is NORMAL (the disk step waits for it).
    const rescue = tc && tc.rescue && disk ? new RescueRepair(`${name}-rescue`, {
        settings: tc.settings, instanceId: tc.instanceId, desiredHash,
        needed: plan.apply((p) => p.unreachable?.rescue === true),
        access: spec.apply((s) => s.rescue ?? null),
        login, owner: lockOwner,
    }, { parent, dependsOn: admission ? [disk, admission] : [disk] }) : undefined;
    const rescued = rescue ? rescue.outcome.apply((o) => o ?? undefined) : pulumi.output(undefined);
    // The repair this run made through rescue mode, if it made one: it stands for the steps' results.
    const thisRun = pulumi.all([plan, rescued]).apply(([p, r]) => (p.unreachable?.rescue ? r : undefined));

    return {
        drift: pulumi.all([plan, thisRun]).apply(([p, r]) => (r ? r.drift : p.drift)),
        snapshot: pulumi.all([snapshotPath, thisRun]).apply(([s, r]) => (r ? r.snapshot || undefined : s)),
        verifiedAt: pulumi.all([verify.verifiedAt, thisRun]).apply(([v, r]) => (r ? r.verifiedAt : v)),
        rescue: rescued,
        pendingConcerns: pulumi.all([plan, thisRun]).apply(([p, r]) => (r ? r.changed
            : Object.entries(p.plans).filter(([, x]) => x.pending).map(([n]) => n))),
        hostKeys: keysAfter,
        hostKeyFingerprints: keysAfter.apply((keys) => keys.map(fingerprint)),
        diskSnapshot: disk ? disk.snapshotId.apply((id) => id ?? undefined) : pulumi.output(undefined),
        diagnosis: plan.apply((p): Diagnosed[] => [
            ...(p.causes ?? []),
            ...(p.refused ? [{ id: "refused", title: "nothing was changed", guide: "", concern: "", evidence: [p.refused], fix: "", blocking: true }] : []),
            ...(p.unreachable ? [{
                id: "unreachable", title: "neither the transport nor the declared login reaches the host", guide: "", concern: "",
                evidence: [p.unreachable.why], blocking: p.unreachable.rescue,
                fix: p.unreachable.rescue ? "repair the system disk from rescue mode (tencent.rescue.allowed)" : "",
            }] : []),
        ]),
        evidence: plan.apply((p): Record<string, string[]> => ({
            ...Object.fromEntries(Object.entries(p.plans).map(([n, x]) => [n, [...x.drift]])),
            ...(p.refused ? { refused: [p.refused] } : {}),
            ...(p.unreachable ? { unreachable: [p.unreachable.why] } : {}),
        })),
    };
}
