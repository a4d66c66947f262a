import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import type { Concern, ConcernPlan } from "./concern";
import { CommandTarget, CommandTargetInput, describeTarget, runScript } from "./transport";
import { composePhase, lastValue, parseKeyValues, scriptText, splitByStep, Step } from "./compose";
import { compareEffective, EffectiveCheck, parseSshdT } from "../sshd-config/effective";

/**
 * The lockout-proof pipeline for one host, shared by every component: probe (program time, one
 * round trip, also in preview) → `<name>-snapshot` → `<name>-apply` (dead-man armed first, then
 * each concern's steps, sshd restarted last) → `<name>-verify` (a fresh login from this machine,
 * sshd's effective values, disarm). Each resource is one round trip.
 */

/** Who must be able to log in once the change is in. */
export interface VerifyLoginArgs {
    /** Address the login goes to. */
    readonly host: pulumi.Input<string>;
    /** Defaults to 22. */
    readonly port?: number;
    readonly user: string;
    /** Key login (a Pulumi secret). Either this or `password`. */
    readonly privateKey?: pulumi.Input<string>;
    /** Password login (a Pulumi secret). */
    readonly password?: pulumi.Input<string>;
}

export interface PipelineArgs {
    readonly target: pulumi.Input<CommandTargetInput>;
    readonly concerns: readonly Concern[];
    readonly verify: VerifyLoginArgs;
    /** Seconds after which the host restores its snapshot unless the change was verified. */
    readonly deadmanWindowSec: number;
    readonly snapshotsKept: number;
}

export interface PipelineOutputs {
    readonly drift: pulumi.Output<string[]>;
    readonly snapshot: pulumi.Output<string | undefined>;
    readonly verifiedAt: pulumi.Output<string | undefined>;
    /** The concerns that were out of line with their declaration when this run probed. */
    readonly pendingConcerns: pulumi.Output<string[]>;
}

interface StepState {
    target: CommandTarget;
    pending: boolean;
    desiredHash: string;
    drift: string[];
}

interface PhaseState extends StepState {
    phase: string;
    /** Run when the phase fails midway (the apply phase): puts the host back. */
    onFailure?: string;
    result?: Record<string, string>;
}

interface VerifyState extends StepState {
    login: CommandTarget;
    disarm: string;
    restore: string;
    checks: EffectiveCheck[];
    verifiedAt?: string;
}

/**
 * The resources change when the host differs from the declaration (`pending`, from the probe)
 * or the declaration itself changed, and never for anything else: a converged host shows no changes.
 */
function stepDiff(olds: StepState, news: StepState) {
    const changes = news.pending || olds.desiredHash !== news.desiredHash
        || JSON.stringify(olds.target) !== JSON.stringify(news.target);
    return { changes, deleteBeforeReplace: false };
}

/**
 * What a step keeps in state: what its diff compares, not the scripts it ran (they are inputs,
 * tens of KB a host, and every checkpoint would write them twice).
 */
function stepOutputs(inputs: StepState): StepState {
    return { target: inputs.target, pending: inputs.pending, desiredHash: inputs.desiredHash, drift: inputs.drift };
}

const phaseProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: PhaseState) {
        const r = await runScript(inputs.target, inputs.phase);
        const kv = parseKeyValues(r.stdout);
        if (r.code !== 0) {
            const step = lastValue(kv, "failed_step") ?? "phase";
            let cause = `${describeTarget(inputs.target)}: ${step} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`;
            if (inputs.onFailure) {
                const back = await runScript(inputs.target, inputs.onFailure);
                cause += back.code === 0 ? "; the host is back on its snapshot"
                    : `; restoring failed too (${back.stderr.trim()}): the dead-man revert restores it when its window ends`;
            }
            throw new Error(cause);
        }
        return { id: inputs.desiredHash, outs: { ...stepOutputs(inputs), result: Object.fromEntries(kv) } };
    },
    async update(_id: string, _olds: PhaseState, news: PhaseState) {
        return { outs: (await phaseProvider.create!(news)).outs };
    },
    async diff(_id: string, olds: PhaseState, news: PhaseState) {
        return stepDiff(olds, news);
    },
};

const verifyProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: VerifyState) {
        // A fresh login; a host whose sshd has just restarted under load may drop the first
        // attempt, so it gets three, a second apart, before the change counts as failed.
        const probe = 'printf "connection=%s\\nuser=%s\\n" "$SSH_CONNECTION" "$(id -un)"\n';
        let login = await runScript(inputs.login, probe, 30_000);
        for (let attempt = 1; attempt < 3 && login.code !== 0; attempt++) {
            await new Promise((r) => setTimeout(r, 1_000));
            login = await runScript(inputs.login, probe, 30_000);
        }
        const kv = parseKeyValues(login.stdout);
        const user = inputs.login.kind === "ssh" ? inputs.login.user : "root";
        const who = inputs.login.kind === "ssh" ? `${inputs.login.user}@${inputs.login.host}` : "the login";
        const fail = async (cause: string): Promise<never> => {
            const back = await runScript(inputs.target, inputs.restore);
            throw new Error(`${cause}; ${back.code === 0 ? "the host is back on its snapshot"
                : `restoring over ${describeTarget(inputs.target)} failed too (${back.stderr.trim()}); the dead-man revert restores it when its window ends`}`);
        };
        if (login.code !== 0 || lastValue(kv, "user") !== user) {
            const said = (login.stderr.trim() || login.stdout.trim() || `exit ${login.code}`).split("\n").slice(-3).join(" | ");
            return fail(`verification login as ${who} failed: ${said}`);
        }
        // sshd's effective values for this very connection, then the dead-man is disarmed.
        const addr = (lastValue(kv, "connection") ?? "").split(" ")[0];
        const d = await runScript(inputs.target, inputs.disarm.replace("__SR_CHECK_CONNECTION__", `user=${user},host=${addr},addr=${addr}`));
        if (d.code !== 0) {
            return fail(`disarming the dead-man revert on ${describeTarget(inputs.target)} failed: ${d.stderr.trim() || d.stdout.trim()}`);
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

class PipelineStep extends pulumi.dynamic.Resource {
    declare readonly result: pulumi.Output<Record<string, string> | undefined>;
    declare readonly verifiedAt: pulumi.Output<string | undefined>;

    constructor(provider: pulumi.dynamic.ResourceProvider, name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        super(provider, name, { result: undefined, verifiedAt: undefined, ...props },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["target", "login"] }));
    }
}

interface HostPlan {
    /** By concern name. A plain object: values inside Outputs do not keep a Map's prototype. */
    readonly plans: Readonly<Record<string, ConcernPlan>>;
    readonly pending: boolean;
    readonly drift: string[];
    readonly paths: string[];
}

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
    };
}

/** Declares the pipeline's resources under `parent`. */
export function hostPipeline(parent: pulumi.Resource, name: string, args: PipelineArgs): PipelineOutputs {
    const target = pulumi.output(args.target) as pulumi.Output<CommandTarget>;
    const desiredHash = crypto.createHash("sha256")
        .update(JSON.stringify(args.concerns.map((c) => [c.name, c.declaration]))).digest("hex").slice(0, 16);
    const deadmanId = `sshremedy-${name.replace(/[^A-Za-z0-9._-]/g, "-")}`;

    const plan: pulumi.Output<HostPlan> = pulumi.unsecret(target.apply(async (t) => {
        const r = await runScript(t, composePhase(args.concerns.map((c) => ({ ...c.probe, label: c.name }))));
        if (r.code !== 0) {
            throw new pulumi.ResourceError(`${name}: probing ${describeTarget(t)} failed: ${r.stderr.trim() || r.stdout.trim()}`, parent);
        }
        return planHost(args.concerns, r.stdout);
    }));
    const common = { target, pending: plan.pending, desiredHash, drift: plan.drift };

    const snapshot = new PipelineStep(phaseProvider, `${name}-snapshot`, {
        ...common,
        phase: plan.apply((p) => composePhase([{
            script: "host/snapshot",
            env: { SR_SNAPSHOT_ID: `${desiredHash}-${Date.now().toString(36)}`, SR_PATHS: p.paths.join("\n"), SR_KEEP: args.snapshotsKept },
        }])),
    }, { parent });
    const snapshotPath = snapshot.result.apply((r) => r?.snapshot);
    const restore = snapshotPath.apply((snap) => composePhase([
        { script: "host/deadman-disarm", env: { SR_DEADMAN_ID: deadmanId }, optional: true },
        { script: "host/restore", env: { SR_SNAPSHOT: snap ?? "" } },
    ]));

    const apply = new PipelineStep(phaseProvider, `${name}-apply`, {
        ...common,
        onFailure: restore,
        phase: pulumi.all([plan, snapshotPath]).apply(([p, snap]) => {
            const steps: Step[] = [{
                script: "host/deadman-arm",
                env: {
                    SR_DEADMAN_ID: deadmanId, SR_SNAPSHOT: snap ?? "", SR_WINDOW: args.deadmanWindowSec,
                    SR_RESTORE_SCRIPT: scriptText("host/restore"), SR_LIB_SCRIPT: scriptText("host/lib"),
                },
            }];
            for (const c of args.concerns) {
                steps.push(...p.plans[c.name].apply.map((s) => ({ ...s, label: s.label ?? `${c.name}:${s.script}` })));
            }
            const restart = Object.values(p.plans).some((x) => x.restartSshd);
            steps.push({ script: "host/sshd-restart", env: { SR_RESTART: restart ? "yes" : "no" } });
            return composePhase(steps);
        }),
    }, { parent, dependsOn: [snapshot] });

    const v = args.verify;
    const login = pulumi.output(v).apply((x): CommandTarget => ({
        kind: "ssh", host: x.host, port: x.port ?? 22, user: x.user, privateKey: x.privateKey, password: x.password,
    }));
    const verify = new PipelineStep(verifyProvider, `${name}-verify`, {
        ...common,
        login,
        checks: plan.apply((p) => Object.values(p.plans).flatMap((x) => [...(x.effective ?? [])])),
        disarm: composePhase([
            { script: "host/effective", env: { SR_CHECK_CONNECTION: "__SR_CHECK_CONNECTION__" } },
            { script: "host/deadman-disarm", env: { SR_DEADMAN_ID: deadmanId } },
        ]),
        restore,
    }, { parent, dependsOn: [apply] });

    return {
        drift: plan.apply((p) => p.drift),
        snapshot: snapshotPath,
        verifiedAt: verify.verifiedAt,
        pendingConcerns: plan.apply((p) => Object.entries(p.plans).filter(([, x]) => x.pending).map(([n]) => n)),
    };
}
