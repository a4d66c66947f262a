import * as pulumi from "@pulumi/pulumi";
import type { Concern } from "../core/concern";
import type { CommandTargetInput } from "../core/transport";
import { hostPipeline, VerifyLoginArgs } from "../core/pipeline";
import { lastValue, parseKeyValues } from "../core/compose";
import { admitSettings } from "./admit";
import { planSshd, parseProbe, SshdMode } from "./plan";
import { effectiveChecks } from "./effective";
import { DeclarationError } from "../core/errors";
import { validateSshdSettings, SshdSettings } from "./validate";

export type { VerifyLoginArgs } from "../core/pipeline";

export const sshdConfigType = "sshremedy:index:SshdConfig";

export interface SshdConfigDeclaration {
    /** The declared directives (validated before anything reaches the host). */
    readonly settings: SshdSettings;
    /**
     * `managed` changes only the declared directives and keeps the rest of the host's file;
     * `replace` renders a complete known-good file for the distribution. Defaults to managed.
     */
    readonly mode?: SshdMode;
    /** The live file. Defaults to /etc/ssh/sshd_config. */
    readonly configPath?: string;
}

export interface SshdConfigArgs extends SshdConfigDeclaration {
    /** How the pipeline's scripts reach the host: `ssh` or an out-of-band `console`. */
    readonly target: pulumi.Input<CommandTargetInput>;
    readonly verify: VerifyLoginArgs;
    /** Seconds after which the host restores its snapshot unless the change was verified. Defaults to 60. */
    readonly deadmanWindowSec?: number;
    /** Snapshots kept on the host, oldest pruned first. Defaults to 5. */
    readonly snapshotsKept?: number;
}

/**
 * sshd_config as a concern of the host pipeline: probe, plan and the steps of a change. With
 * `admit`, the plan also makes the least change that lets that login in (see admitSettings);
 * declared settings win over it.
 */
export function sshdConfigConcern(d: SshdConfigDeclaration, admit?: { user: string; method: "key" | "password"; address: string }): Concern {
    const configPath = d.configPath ?? "/etc/ssh/sshd_config";
    const mode = d.mode ?? { kind: "managed" };
    const stageDir = `${configPath.slice(0, configPath.lastIndexOf("/")) || ""}/.sshremedy-stage`;
    return {
        name: "sshd-config",
        declaration: { settings: d.settings, mode, configPath, admit: admit ?? null },
        probe: { script: "sshd-config/probe", env: { SR_SSHD_CONFIG_TARGET: configPath, ...(admit ? { SR_LOGIN_USER: admit.user } : {}) } },
        plan(out) {
            const probe = parseProbe(out);
            const kv = parseKeyValues(out);
            const settings: SshdSettings = admit ? {
                ...admitSettings(probe.config ?? "", {
                    ...admit,
                    groups: (lastValue(kv, "login_groups") ?? "").split(" ").filter(Boolean),
                    hostAddresses: kv.filter(([k]) => k === "address").map(([, v]) => v),
                }),
                ...d.settings,
            } : d.settings;
            const p = planSshd(probe, settings, mode, configPath);
            const fileChanges = p.drift.filter((l) => l !== "sshd is not running");
            const files = p.dropInWrites;
            const env: Record<string, string | number> = { SR_FILE_COUNT: files.length };
            files.forEach((f, i) => {
                env[`SR_FILE_PATH_${i + 1}`] = f.path;
                env[`SR_FILE_CONTENT_${i + 1}`] = f.text;
            });
            return {
                pending: p.pending,
                drift: p.drift,
                paths: p.paths,
                restartSshd: fileChanges.length > 0,
                effective: effectiveChecks(settings),
                apply: fileChanges.length === 0 ? [] : [
                    { script: "sshd-config/stage-validate", env: { SR_SSHD_CONFIG_TARGET: configPath, SR_STAGE_DIR: stageDir, SR_SSHD_CONFIG_CONTENT: p.config } },
                    { script: "host/write-files", env },
                    // The pipeline restarts sshd once, after every concern's change.
                    { script: "host/swap", env: { SR_STAGED: `${stageDir}/sshd_config`, SR_TARGET: configPath, SR_SSHD_ACTION: "none" } },
                ],
            };
        },
    };
}

/**
 * A host's sshd_config made to match a declaration without ever locking anyone out:
 * probe → snapshot → dead-man armed, validate, swap, restart → a fresh login from this machine
 * and sshd's effective values → disarm. Each phase is one resource, one round trip.
 */
export class SshdConfig extends pulumi.ComponentResource {
    /** Lines the host differs in from the declaration, as read before this run changed anything. */
    readonly drift: pulumi.Output<string[]>;
    /** The snapshot taken before the last change (a folder on the host). */
    readonly snapshot: pulumi.Output<string | undefined>;
    /** When the declared login last succeeded after a change. */
    readonly verifiedAt: pulumi.Output<string | undefined>;

    constructor(name: string, args: SshdConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        // The declaration travels as the component's inputs, for policy packs (no key or password).
        const { privateKey, password, ...verify } = args.verify;
        super(sshdConfigType, name, {
            settings: args.settings, mode: args.mode ?? { kind: "managed" }, configPath: args.configPath ?? "/etc/ssh/sshd_config",
            verify: { ...verify, method: privateKey !== undefined ? "key" : password !== undefined ? "password" : "none" },
            deadmanWindowSec: args.deadmanWindowSec ?? 60, snapshotsKept: args.snapshotsKept ?? 5,
        }, opts);
        // Everything is checked before the host is contacted at all.
        validateArgs(args, this);
        const out = hostPipeline(this, name, {
            target: args.target,
            concerns: [sshdConfigConcern(args)],
            verify: { ...args.verify, port: args.verify.port ?? args.settings.port },
            deadmanWindowSec: args.deadmanWindowSec ?? 60,
            snapshotsKept: args.snapshotsKept ?? 5,
        });
        this.drift = out.drift;
        this.snapshot = out.snapshot;
        this.verifiedAt = out.verifiedAt;
        this.registerOutputs({ drift: this.drift, snapshot: this.snapshot, verifiedAt: this.verifiedAt });
    }
}

/** The pipeline arguments every component shares, checked the same way. */
export function validatePipelineArgs(a: { verify: VerifyLoginArgs; deadmanWindowSec?: number; snapshotsKept?: number }): void {
    if (a.verify.privateKey === undefined && a.verify.password === undefined) {
        throw new DeclarationError("verify", "has neither privateKey nor password", "give the verifying login's key or password (as a secret)");
    }
    if (!/^[a-z_][a-z0-9_.-]*$/i.test(a.verify.user)) {
        throw new DeclarationError("verify.user", `'${a.verify.user}' is not a user name`, "use the login name of the account that must get in");
    }
    const w = a.deadmanWindowSec;
    if (w !== undefined && (!Number.isInteger(w) || w < 10 || w > 3600)) {
        throw new DeclarationError("deadmanWindowSec", `${w} is not a whole number of seconds from 10 to 3600`,
            "give the host enough time to restart sshd and be verified, e.g. 60");
    }
    const k = a.snapshotsKept;
    if (k !== undefined && (!Number.isInteger(k) || k < 1 || k > 100)) {
        throw new DeclarationError("snapshotsKept", `${k} is not a whole number from 1 to 100`, "keep at least the snapshot of the last change, e.g. 5");
    }
}

/** Checks everything a preview can, and fails the preview naming the argument and the fix. */
function validateArgs(args: SshdConfigArgs, resource: pulumi.Resource): void {
    try {
        validateSshdSettings(args.settings);
        validatePipelineArgs(args);
        if (args.configPath !== undefined && !/^\/[A-Za-z0-9._/-]+$/.test(args.configPath)) {
            throw new DeclarationError("configPath", `'${args.configPath}' is not an absolute path of plain characters`, "e.g. /etc/ssh/sshd_config");
        }
    } catch (e) {
        throw new pulumi.ResourceError(e instanceof Error ? e.message : String(e), resource);
    }
}
