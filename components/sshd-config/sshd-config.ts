import * as pulumi from "@pulumi/pulumi";
import type { Concern } from "../core/concern";
import { hostPipeline } from "../core/pipeline";
import { AccessArgs, atEdge, checkKept, checkKnownNow, checkLockWait, checkWindow, loginFields, offlinePreviewDefault, resolveLogin, resolveSpec } from "../declaration";
import { lastValue, parseKeyValues } from "../core/compose";
import { admitSettings } from "./admit";
import { planSshd, parseProbe, SshdMode } from "./plan";
import { admitEdits, effectiveValues, insideMatch, readOrder } from "./origin";
import { declaredKeywords, replaceSettings } from "./render";
import { type Distro, mergeSettings } from "./distro";
import { effectiveChecks } from "./effective";
import { DeclarationError, validatedAs } from "../core/errors";
import { validateSshdSettings, SshdSettings } from "./validate";


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

/** The login that proves the change: who logs in where, with which key or password. */
export interface VerifyLoginArgs {
    /** Address the login goes to (often another resource's output). */
    readonly host: pulumi.Input<string>;
    /** Defaults to `settings.port`, else 22. */
    readonly port?: pulumi.Input<number>;
    readonly user: pulumi.Input<string>;
    /** Key login (a Pulumi secret). Either this or `password`. */
    readonly privateKey?: pulumi.Input<string>;
    /** Password login (a Pulumi secret). */
    readonly password?: pulumi.Input<string>;
    /** The host's public key (known_hosts form). Defaults to the keys recorded on the first run. */
    readonly hostKey?: pulumi.Input<string>;
    /** The host's keys were replaced on purpose: accept and record the new ones. Defaults to false. */
    readonly hostKeyRotated?: boolean;
}

export interface SshdConfigArgs extends SshdConfigDeclaration, Omit<AccessArgs, "login"> {
    /** The fresh login that must work after the change. */
    readonly verify: VerifyLoginArgs;
}

/**
 * sshd_config as a concern of the host pipeline: probe, plan and the steps of a change. With
 * `admit`, the plan also makes the least change that lets that login in (see admitSettings);
 * declared settings win over it.
 */
/** The login SshAccess admits: who, how, and the connection sshd is asked about. */
export interface AdmitArgs {
    readonly user: string;
    readonly method: "key" | "password";
    readonly address: string;
    /** The verifying login's source address (sshd's addr= and host=). Defaults to 127.0.0.1. */
    readonly source?: string;
    /** The port the login connects to (sshd's lport=). Defaults to 22. */
    readonly port?: number;
}

/**
 * The declaration beyond the settings' own values, checked before the host is contacted (paths as
 * SshdConfig takes them: `configPath`, `mode.distro.id`, `settings.match`): the distribution's
 * names are written into the file, Match blocks need replace mode, and replace mode's defaults
 * must agree with the declared settings.
 */
function checkDeclaration(d: SshdConfigDeclaration): void {
    if (d.configPath !== undefined && (typeof d.configPath !== "string" || !/^\/[A-Za-z0-9._/-]+$/.test(d.configPath))) {
        throw new DeclarationError("configPath", `'${String(d.configPath)}' is not an absolute path of plain characters`, "e.g. /etc/ssh/sshd_config");
    }
    const mode = (d.mode ?? { kind: "managed" }) as { kind?: unknown; distro?: Record<string, unknown> | null };
    if (typeof mode !== "object" || mode === null || (mode.kind !== "managed" && mode.kind !== "replace")) {
        throw new DeclarationError("mode", `${JSON.stringify(mode)} is not { kind: "managed" } or { kind: "replace", distro }`,
            'give { kind: "managed" }, or { kind: "replace", distro: { id: "debian", version: "12" } }');
    }
    if (mode.kind === "managed") {
        if (d.settings.match !== undefined) {
            throw new DeclarationError("settings.match", "is only written in replace mode",
                "declare Match blocks in replace mode, or keep them in the host's file: managed mode leaves them untouched");
        }
        return;
    }
    const distro = mode.distro;
    if (typeof distro !== "object" || distro === null) {
        throw new DeclarationError("mode.distro", "is missing", 'give the host\'s distribution as /etc/os-release names it, e.g. { id: "debian", version: "12" }');
    }
    // os-release(5) ID and VERSION_ID: letters, digits, '.', '_', '-'. They are written into the file.
    for (const key of ["id", "version"] as const) {
        const v = distro[key];
        if ((key === "id" || v !== undefined) && (typeof v !== "string" || !/^[A-Za-z0-9._-]+$/.test(v))) {
            throw new DeclarationError(`mode.distro.${key}`, `${JSON.stringify(v)} is not an os-release ${key === "id" ? "ID" : "VERSION_ID"}`,
                "use letters, digits, '.', '_' and '-' as /etc/os-release has them, e.g. debian and 12");
        }
    }
    if (distro.family !== undefined && distro.family !== "debian" && distro.family !== "rhel") {
        throw new DeclarationError("mode.distro.family", `${JSON.stringify(distro.family)} is not a family this module knows`, 'use "debian" or "rhel", or leave it out');
    }
    // The file is the distribution's defaults overridden by the declaration: checked together now,
    // not when it is rendered after the probe (a method list needing a method the defaults switch off).
    // What the file leaves out is sshd's own default: HostbasedAuthentication and GSSAPIAuthentication no.
    const file = mergeSettings({ extra: { HostbasedAuthentication: "no", GSSAPIAuthentication: "no" } }, replaceSettings(d.settings, distro as unknown as Distro));
    validatedAs((h) => `settings.${h}`, () => validateSshdSettings(file));
}

export function sshdConfigConcern(d: SshdConfigDeclaration, admit?: AdmitArgs): Concern {
    checkDeclaration(d);
    const configPath = d.configPath ?? "/etc/ssh/sshd_config";
    const mode = d.mode ?? { kind: "managed" };
    const stageDir = `${configPath.slice(0, configPath.lastIndexOf("/")) || ""}/.sshremedy-stage`;
    const source = admit?.source ?? "127.0.0.1";
    const connect = admit ? `user=${admit.user},host=${source},addr=${source},laddr=${admit.address},lport=${admit.port ?? 22}` : "";
    return {
        name: "sshd-config",
        declaration: { settings: d.settings, mode, configPath, admit: admit ?? null },
        probe: { script: "sshd-config/probe", env: { SR_SSHD_CONFIG_TARGET: configPath, ...(admit ? { SR_LOGIN_USER: admit.user, SR_CONNECT: connect } : {}) } },
        plan(out) {
            const probe = parseProbe(out);
            const kv = parseKeyValues(out);
            const groups = (lastValue(kv, "login_groups") ?? "").split(" ").filter(Boolean);
            const settings: SshdSettings = admit ? {
                ...admitSettings(probe.config ?? "", {
                    ...admit,
                    groups,
                    hostAddresses: kv.filter(([k]) => k === "address").map(([, v]) => v),
                }),
                ...d.settings,
            } : d.settings;
            // Ask sshd, not the file: what refuses the login for this very connection, and the
            // lines in drop-ins and Match blocks that say so (the main file's global lines are
            // admitSettings' above).
            const gate = admit && probe.effective !== undefined && probe.config !== null
                ? admitEdits(readOrder({ path: configPath, text: probe.config }, probe.dropIns,
                    { user: admit.user, groups, addr: source, laddr: admit.address, lport: admit.port ?? 22 }),
                effectiveValues(probe.effective), { user: admit.user, groups, addr: source, laddr: admit.address, lport: admit.port ?? 22 }, admit)
                : { edits: [], unplaced: [], reports: [] };
            // A human's call the declaration does not make stops the run, naming the line.
            const declared = new Set(declaredKeywords(settings));
            const reports = gate.reports.filter((r) => !declared.has(r.split(" ")[0].toLowerCase()));
            if (reports.length > 0) {
                throw new Error(`sshd-config: ${reports.join("; ")}`);
            }
            // admitSettings makes the main file's global lines admit the login, except its port.
            const edits = gate.edits.filter((e) => e.file !== configPath || insideMatch(probe.config ?? "", e.index)
                || (e.keyword === "port" && settings.port === undefined));
            const p = planSshd(probe, settings, mode, configPath, edits);
            const fileChanges = p.drift.filter((l) => l !== "sshd is not running");
            const files = p.dropInWrites;
            const env: Record<string, string | number> = { SR_FILE_COUNT: files.length };
            files.forEach((f, i) => {
                env[`SR_FILE_PATH_${i + 1}`] = f.path;
                env[`SR_FILE_CONTENT_${i + 1}`] = f.text;
            });
            return {
                pending: p.pending,
                drift: [...p.drift, ...gate.unplaced.map((u) => `${configPath}: ${u}`)],
                paths: p.paths,
                restartSshd: fileChanges.length > 0,
                effective: effectiveChecks(settings),
                apply: fileChanges.length === 0 ? [] : [
                    // Drop-ins first, so the staged file is judged with them: sshd's effective
                    // values for the verifying connection are checked after the change, before the swap.
                    { script: "host/write-files", env },
                    {
                        script: "sshd-config/stage-validate",
                        env: { SR_SSHD_CONFIG_TARGET: configPath, SR_STAGE_DIR: stageDir, SR_SSHD_CONFIG_CONTENT: p.config, ...(admit ? { SR_CHECK_CONNECTION: connect } : {}) },
                    },
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
    /** The host keys the pipeline accepts for this host: pinned, or recorded on the first run. */
    readonly hostKeys: pulumi.Output<string[]>;

    constructor(name: string, args: SshdConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        // The declaration travels as the component's inputs, for policy packs (no key or password).
        const { privateKey, password, ...verify } = args.verify;
        super(sshdConfigType, name, {
            settings: args.settings, mode: args.mode ?? { kind: "managed" }, configPath: args.configPath ?? "/etc/ssh/sshd_config",
            verify: { ...verify, method: privateKey !== undefined ? "key" : password !== undefined ? "password" : "none" },
            deadmanWindowSec: args.deadmanWindowSec ?? 60, snapshotsKept: args.snapshotsKept ?? 5,
        }, opts);
        const v = args.verify;
        // Everything known now is checked before the host is contacted at all; the rest as soon as it is known.
        atEdge(this, args.declarationPath, () => checkKnownNow(loginFields({ address: v.host, user: v.user, port: v.port, hostKey: v.hostKey }, "verify", "host")));
        const spec = resolveSpec(this, args.declarationPath, { host: v.host, user: v.user, port: v.port, hostKey: v.hostKey }, (x) => {
            checkWindow("deadmanWindowSec", args.deadmanWindowSec);
            checkKept("snapshotsKept", args.snapshotsKept);
            checkLockWait("lockWaitSec", args.lockWaitSec, args.deadmanWindowSec ?? 60);
            validatedAs((h) => `settings.${h}`, () => validateSshdSettings(args.settings));
            if (args.configPath !== undefined && !/^\/[A-Za-z0-9._/-]+$/.test(args.configPath)) {
                throw new DeclarationError("configPath", `'${args.configPath}' is not an absolute path of plain characters`, "e.g. /etc/ssh/sshd_config");
            }
            const login = resolveLogin({ ...v, address: x.host, user: x.user, port: x.port, hostKey: x.hostKey }, args.settings.port ?? 22, "verify", "host");
            return { concerns: [sshdConfigConcern(args)], login };
        });
        const out = hostPipeline(this, name, {
            target: args.target,
            spec,
            privateKey: v.privateKey,
            password: v.password,
            deadmanWindowSec: args.deadmanWindowSec ?? 60,
            // Checked at the edge with the rest of the declaration; here only its default.
            lockWaitSec: args.lockWaitSec ?? (args.deadmanWindowSec ?? 60) + 30,
            snapshotsKept: args.snapshotsKept ?? 5,
            offlinePreview: offlinePreviewDefault(args.offlinePreview),
        });
        this.drift = out.drift;
        this.snapshot = out.snapshot;
        this.verifiedAt = out.verifiedAt;
        this.hostKeys = out.hostKeys;
        this.registerOutputs({ drift: this.drift, snapshot: this.snapshot, verifiedAt: this.verifiedAt, hostKeys: this.hostKeys });
    }
}
