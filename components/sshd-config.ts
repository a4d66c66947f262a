import * as pulumi from "@pulumi/pulumi";
import { CommandTarget, CommandTargetInput, describeTarget, runScript } from "./host-command";
import { composePhase, lastValue, parseKeyValues, scriptText } from "./host-steps";
import { planSshd, parseProbe, SshdMode, SshdPlan } from "./sshd-plan";
import { compareEffective, effectiveChecks, EffectiveCheck, parseSshdT } from "./sshd/effective";
import { SshdConfigError } from "./sshd/errors";
import { validateSshdSettings, SshdSettings } from "./sshd/validate";

export const sshdConfigType = "sshremedy:index:SshdConfig";

/** Who must be able to log in once the change is in, proven by a fresh login from this machine. */
export interface VerifyLoginArgs {
    /** Address the login goes to. */
    readonly host: pulumi.Input<string>;
    /** Defaults to the declared `settings.port`, else 22. */
    readonly port?: number;
    readonly user: string;
    /** Key login (a Pulumi secret). Either this or `password`. */
    readonly privateKey?: pulumi.Input<string>;
    /** Password login (a Pulumi secret). */
    readonly password?: pulumi.Input<string>;
}

export interface SshdConfigArgs {
    /** How the pipeline's scripts reach the host: `ssh` or an out-of-band `console`. */
    readonly target: pulumi.Input<CommandTargetInput>;
    /** The declared directives (validated before anything reaches the host). */
    readonly settings: SshdSettings;
    /**
     * `managed` changes only the declared directives and keeps the rest of the host's file;
     * `replace` renders a complete known-good file for the distribution. Defaults to managed.
     */
    readonly mode?: SshdMode;
    readonly verify: VerifyLoginArgs;
    /** Seconds after which the host restores its snapshot unless the change was verified. Defaults to 60. */
    readonly deadmanWindowSec?: number;
    /** Snapshots kept on the host, oldest pruned first. Defaults to 5. */
    readonly snapshotsKept?: number;
    /** The live file. Defaults to /etc/ssh/sshd_config. */
    readonly configPath?: string;
}

/** Inputs every step resource carries; its provider's diff reads `pending` and `desiredHash`. */
interface StepState {
    target: CommandTarget;
    pending: boolean;
    desiredHash: string;
    drift: string[];
}

interface PhaseState extends StepState {
    phase: string;
    result?: Record<string, string>;
}

interface VerifyState extends StepState {
    login: CommandTarget;
    disarm: string;
    restore: string;
    checks: EffectiveCheck[];
    checkAddress?: string;
    verifiedAt?: string;
}

/**
 * Shared by the pipeline's resources: they change when the host differs from the declaration
 * (`pending`, read by the probe) or the declaration itself changed, and never for anything else,
 * so a converged host shows no changes in preview.
 */
function stepDiff(olds: StepState, news: StepState) {
    const changed = news.pending || olds.desiredHash !== news.desiredHash
        || JSON.stringify(olds.target) !== JSON.stringify(news.target);
    return { changes: changed, deleteBeforeReplace: false };
}

const phaseProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: PhaseState) {
        const r = await runScript(inputs.target, inputs.phase);
        const kv = parseKeyValues(r.stdout);
        if (r.code !== 0) {
            const step = lastValue(kv, "failed_step") ?? "phase";
            throw new Error(`${describeTarget(inputs.target)}: ${step} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
        }
        return { id: `${inputs.desiredHash}`, outs: { ...inputs, result: Object.fromEntries(kv) } };
    },
    async update(_id: string, _olds: PhaseState, news: PhaseState) {
        const r = await phaseProvider.create!(news);
        return { outs: r.outs };
    },
    async diff(_id: string, olds: PhaseState, news: PhaseState) {
        return stepDiff(olds, news);
    },
};

const verifyProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: VerifyState) {
        // A fresh login from this machine, as the declared user with the declared method.
        const login = await runScript(inputs.login, 'printf "connection=%s\\nuser=%s\\n" "$SSH_CONNECTION" "$(id -un)"\n', 30_000);
        const kv = parseKeyValues(login.stdout);
        const who = inputs.login.kind === "ssh" ? `${inputs.login.user}@${inputs.login.host}` : "login";
        const fail = async (cause: string) => {
            const back = await runScript(inputs.target, inputs.restore);
            const how = back.code === 0 ? "the host is back on its snapshot"
                : `restoring over ${describeTarget(inputs.target)} failed too (${back.stderr.trim()}); the dead-man revert restores it when its window ends`;
            throw new Error(`${cause}; ${how}`);
        };
        if (login.code !== 0 || lastValue(kv, "user") !== (inputs.login.kind === "ssh" ? inputs.login.user : undefined)) {
            const said = (login.stderr.trim() || login.stdout.trim() || `exit ${login.code}`).split("\n").slice(-3).join(" | ");
            return fail(`verification login as ${who} failed: ${said}`);
        }
        // sshd's effective values for this very connection, then the dead-man is disarmed.
        const addr = inputs.checkAddress ?? (lastValue(kv, "connection") ?? "").split(" ")[0];
        const user = inputs.login.kind === "ssh" ? inputs.login.user : "root";
        const disarm = inputs.disarm.replace("__SR_CHECK_CONNECTION__", `user=${user},host=${addr},addr=${addr}`);
        const d = await runScript(inputs.target, disarm);
        if (d.code !== 0) {
            return fail(`disarming the dead-man revert on ${describeTarget(inputs.target)} failed: ${d.stderr.trim() || d.stdout.trim()}`);
        }
        const text = d.stdout.split("effective_begin\n")[1]?.split("\neffective_end")[0] ?? "";
        const mismatches = compareEffective(inputs.checks, parseSshdT(text));
        if (mismatches.length > 0) {
            return fail(`sshd's effective values differ from the declaration: ${mismatches
                .map((m) => `${m.keyword} is ${m.actual.join(",") || "(unset)"}, expected ${m.expected.join(",") || "(unset)"}`).join("; ")}`);
        }
        return { id: inputs.desiredHash, outs: { ...inputs, verifiedAt: new Date().toISOString() } };
    },
    async update(_id: string, _olds: VerifyState, news: VerifyState) {
        const r = await verifyProvider.create!(news);
        return { outs: r.outs };
    },
    async diff(_id: string, olds: VerifyState, news: VerifyState) {
        return stepDiff(olds, news);
    },
};

class PipelineStep extends pulumi.dynamic.Resource {
    declare readonly result: pulumi.Output<Record<string, string> | undefined>;
    declare readonly drift: pulumi.Output<string[]>;
    declare readonly verifiedAt: pulumi.Output<string | undefined>;

    constructor(provider: pulumi.dynamic.ResourceProvider, name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        super(provider, name, { result: undefined, verifiedAt: undefined, ...props },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["target", "login"] }));
    }
}

/**
 * A host's sshd_config made to match a declaration without ever locking anyone out:
 * probe → snapshot → validate, arm the dead-man revert, swap, restart → a fresh login from this
 * machine and sshd's effective values → disarm. Each phase is one resource, one round trip.
 */
export class SshdConfig extends pulumi.ComponentResource {
    /** Lines the host differs in from the declaration, as read before this run changed anything. */
    readonly drift: pulumi.Output<string[]>;
    /** The snapshot taken before the last change (a folder on the host). */
    readonly snapshot: pulumi.Output<string | undefined>;
    /** When the declared login last succeeded after a change. */
    readonly verifiedAt: pulumi.Output<string | undefined>;

    constructor(name: string, args: SshdConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        super(sshdConfigType, name, {}, opts);
        // Everything is checked before the host is contacted at all.
        validateArgs(args, this);
        const configPath = args.configPath ?? "/etc/ssh/sshd_config";
        const mode = args.mode ?? { kind: "managed" };
        const window = args.deadmanWindowSec ?? 60;
        const target = pulumi.output(args.target) as pulumi.Output<CommandTarget>;

        // Probe: one round trip, also in preview, so drift shows up before anything changes.
        const plan: pulumi.Output<SshdPlan> = pulumi.unsecret(target.apply(async (t) => {
            const r = await runScript(t, composePhase([{ script: "probe", env: { SR_SSHD_CONFIG_TARGET: configPath } }]));
            if (r.code !== 0) {
                throw new pulumi.ResourceError(`${name}: probing ${describeTarget(t)} failed: ${r.stderr.trim()}`, this);
            }
            return planSshd(parseProbe(r.stdout), args.settings, mode, configPath);
        }));
        const common = { target, pending: plan.pending, desiredHash: plan.desiredHash, drift: plan.drift };
        const snapshotId = plan.apply((p) => `sshd-${p.desiredHash}-${Date.now().toString(36)}`);

        const snapshot = new PipelineStep(phaseProvider, `${name}-snapshot`, {
            ...common,
            phase: pulumi.all([plan, snapshotId]).apply(([p, id]) => composePhase([{
                script: "snapshot",
                env: { SR_SNAPSHOT_ID: id, SR_PATHS: p.paths.join("\n"), SR_KEEP: args.snapshotsKept ?? 5 },
            }])),
        }, { parent: this });
        const snapshotPath = snapshot.result.apply((r) => r?.snapshot);
        const deadmanId = `sshremedy-${name.replace(/[^A-Za-z0-9._-]/g, "-")}`;

        const apply = new PipelineStep(phaseProvider, `${name}-apply`, {
            ...common,
            phase: pulumi.all([plan, snapshotPath]).apply(([p, snap]) => composePhase([
                { script: "stage-validate", env: { SR_SSHD_CONFIG_TARGET: configPath, SR_SSHD_CONFIG_CONTENT: p.config } },
                {
                    script: "deadman-arm",
                    env: {
                        SR_DEADMAN_ID: deadmanId, SR_SNAPSHOT: snap ?? "", SR_WINDOW: window,
                        SR_RESTORE_SCRIPT: scriptText("restore"), SR_LIB_SCRIPT: scriptText("lib"),
                    },
                },
                { script: "write-files", env: filesEnv(p.dropInWrites) },
                {
                    script: "swap",
                    env: { SR_STAGED: stagedPath(configPath), SR_TARGET: configPath, SR_SSHD_ACTION: "restart" },
                    // Unchanged file but sshd down (it failed to start before): start it now.
                    then: "sr_sshd_detect; sr_sshd_active || sr_sshd_restart",
                },
            ])),
        }, { parent: this, dependsOn: [snapshot] });

        const login = pulumi.output(args.verify).apply((v): CommandTarget => ({
            kind: "ssh", host: v.host, port: v.port ?? args.settings.port ?? 22, user: v.user,
            privateKey: v.privateKey, password: v.password,
        }));
        const verify = new PipelineStep(verifyProvider, `${name}-verify`, {
            ...common,
            login,
            checks: effectiveChecks(args.settings),
            disarm: `${composePhase([
                { script: "effective", env: { SR_CHECK_CONNECTION: "__SR_CHECK_CONNECTION__" } },
                { script: "deadman-disarm", env: { SR_DEADMAN_ID: deadmanId } },
            ])}`,
            restore: snapshotPath.apply((snap) => composePhase([
                { script: "deadman-disarm", env: { SR_DEADMAN_ID: deadmanId } },
                { script: "restore", env: { SR_SNAPSHOT: snap ?? "" } },
            ])),
        }, { parent: this, dependsOn: [apply] });

        this.drift = plan.apply((p) => [...p.drift]);
        this.snapshot = snapshotPath;
        this.verifiedAt = verify.verifiedAt;
        this.registerOutputs({ drift: this.drift, snapshot: this.snapshot, verifiedAt: this.verifiedAt });
    }
}

function stagedPath(configPath: string): string {
    const dir = configPath.slice(0, configPath.lastIndexOf("/")) || "/";
    return `${dir}/.sshremedy-stage/${configPath.slice(configPath.lastIndexOf("/") + 1)}`;
}

function filesEnv(files: readonly { path: string; text: string }[]): Record<string, string | number> {
    const env: Record<string, string | number> = { SR_FILE_COUNT: files.length };
    files.forEach((f, i) => {
        env[`SR_FILE_PATH_${i + 1}`] = f.path;
        env[`SR_FILE_CONTENT_${i + 1}`] = f.text;
    });
    return env;
}

/** Checks everything a preview can, and fails the preview naming the argument and the fix. */
function validateArgs(args: SshdConfigArgs, resource: pulumi.Resource): void {
    try {
        validateSshdSettings(args.settings);
        if (args.verify.privateKey === undefined && args.verify.password === undefined) {
            throw new SshdConfigError("verify", "has neither privateKey nor password", "give the verifying login's key or password (as a secret)");
        }
        if (!/^[a-z_][a-z0-9_.-]*$/i.test(args.verify.user)) {
            throw new SshdConfigError("verify.user", `'${args.verify.user}' is not a user name`, "use the login name of the account that must get in");
        }
        const w = args.deadmanWindowSec;
        if (w !== undefined && (!Number.isInteger(w) || w < 10 || w > 3600)) {
            throw new SshdConfigError("deadmanWindowSec", `${w} is not a whole number of seconds from 10 to 3600`,
                "give the host enough time to restart sshd and be verified, e.g. 60");
        }
        if (args.configPath !== undefined && !/^\/[A-Za-z0-9._/-]+$/.test(args.configPath)) {
            throw new SshdConfigError("configPath", `'${args.configPath}' is not an absolute path of plain characters`, "e.g. /etc/ssh/sshd_config");
        }
    } catch (e) {
        throw new pulumi.ResourceError(e instanceof Error ? e.message : String(e), resource);
    }
}
