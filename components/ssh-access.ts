import * as pulumi from "@pulumi/pulumi";
import type { Concern } from "./core/concern";
import { DeclarationError, isDeclarationError, validatedAs } from "./core/errors";
import { Diagnosed, hostPipeline, RescueAccess, RescueReport } from "./core/pipeline";
import { notFromRescue } from "./tencent/rescue-scope";
import type { CommandTargetInput, TatTargetInput } from "./core/transport";
import { resolveTencentSettings } from "./tencent/settings";
import {
    AccessArgs, atEdge, checkCommandPrefix, checkKept, checkLockWait, checkRescue, checkKnownNow, checkWindow, isKnownNow, LoginArgs, loginFields,
    offlinePreviewDefault, ResolvedLogin, resolveLogin, resolveSpec,
} from "./declaration";
import { accountConcern, AccountArgs } from "./account/account";
import { firewallAllowlistConcern } from "./firewall-allowlist/firewall-allowlist";
import { checkSource, hostsAccessConcern, HostsAccessArgs } from "./hosts-access/hosts-access";
import { derivePublicKey, loginKeyConcern } from "./login-key/login-key";
import { selinuxModeConcern, SelinuxModeArgs } from "./selinux-mode/selinux-mode";
import { sshdConfigConcern, SshdConfigDeclaration } from "./sshd-config/sshd-config";
import { validateSshdSettings } from "./sshd-config/validate";
import { sshdRuntimeConcern, SshdRuntimeArgs } from "./sshd-runtime/sshd-runtime";

export type { AccessArgs, LoginArgs } from "./declaration";

export const sshAccessType = "sshremedy:index:SshAccess";

/** hosts.allow / hosts.deny as SshAccess takes them: the login's sources are the ones to admit. */
export type HostsAccessDeclaration = Omit<HostsAccessArgs, "sshSources">;

/** The SSH port's allowlist on the host firewall. */
export interface FirewallDeclaration {
    /** Addresses or CIDRs that must reach sshd's port. Defaults to `login.sources`. */
    readonly allow?: pulumi.Input<readonly pulumi.Input<string>[]>;
}

export interface SshAccessArgs extends AccessArgs {
    /** sshd_config beyond what the login needs. Defaults to the host's file, changed only as far as the login needs. */
    readonly sshd?: Partial<SshdConfigDeclaration>;
    /** hosts.allow / hosts.deny. Defaults to admitting `login.sources` where a rule would refuse them. false: not managed. */
    readonly hostsAccess?: HostsAccessDeclaration | false;
    /** The SSH port's allowlist on the host firewall. Defaults to `login.sources`. false: not managed. */
    readonly firewall?: FirewallDeclaration | false;
    /** SELinux mode and labels. Defaults to enforcing where the host runs SELinux, and ~/.ssh of the login relabelled. */
    readonly selinux?: SelinuxModeArgs | false;
    /** sshd's libraries, PAM modules, host keys. Defaults to repairing from the host's package cache. false: not managed. */
    readonly runtime?: SshdRuntimeArgs | false;
    /**
     * The key gate of a key login: the login key's public half in the file sshd reads for the user
     * (its effective AuthorizedKeysFile), that file and the directories above it as StrictModes
     * demands. Defaults to managed. false: not managed.
     */
    readonly authorizedKeys?: false;
    /**
     * The login's account: a shell that does not log in, a lock sshd refuses, an expiry that has
     * passed, /etc/nologin. Defaults to reporting what refuses the login (the run stops before any
     * change) and fixing nothing. false: not checked.
     */
    readonly account?: AccountDeclaration | false;
}

/** The account gate as SshAccess takes it: the user and the method are the login's. */
export type AccountDeclaration = Omit<AccountArgs, "user" | "method">;

/** The concerns a component of this file manages, in the order that keeps the current path open longest. */
type ConcernName = "firewall-allowlist" | "hosts-access" | "selinux-mode" | "sshd-runtime" | "account" | "login-key" | "sshd-config";
const ALL: readonly ConcernName[] = ["firewall-allowlist", "hosts-access", "selinux-mode", "sshd-runtime", "account", "login-key", "sshd-config"];

/** SshAccessArgs with every value known: what the concerns are built from. */
export type KnownSshAccessArgs = Omit<SshAccessArgs, "login" | "firewall" | "target"> & {
    readonly login: Omit<LoginArgs, "address" | "user" | "port" | "sources" | "hostKey"> & {
        readonly address: string; readonly user: string; readonly port?: number; readonly sources?: readonly string[]; readonly hostKey?: string;
        /** The login key's public half (SshAccess derives it from privateKey); without it there is no key gate. */
        readonly publicKey?: string;
    };
    readonly firewall?: { readonly allow?: readonly string[] } | false;
};

/**
 * The concerns of one host, every argument checked; throws a DeclarationError naming the
 * argument as the user wrote it. `only` restricts them to one concern (the single-concern components).
 */
export function sshAccessConcerns(args: KnownSshAccessArgs, only: readonly ConcernName[] = ALL): Concern[] {
    return buildAccess(args, only).concerns;
}

function buildAccess(args: KnownSshAccessArgs, only: readonly ConcernName[]): { concerns: Concern[]; login: ResolvedLogin; rescue?: RescueAccess } {
    checkWindow("deadmanWindowSec", args.deadmanWindowSec);
    const rescue = checkRescue("tencent.rescue", args.tencent);
    checkKept("snapshotsKept", args.snapshotsKept);
    checkLockWait("lockWaitSec", args.lockWaitSec, checkWindow("deadmanWindowSec", args.deadmanWindowSec));
    const settings = args.sshd?.settings ?? {};
    validatedAs((h) => `sshd.settings.${h}`, () => validateSshdSettings(settings));
    const login = resolveLogin(args.login, settings.port ?? 22);
    if (settings.port !== undefined && args.login.port !== undefined && settings.port !== login.port) {
        throw new DeclarationError("login.port", `${login.port} differs from sshd.settings.port ${settings.port}`,
            "give the port sshd listens on in one of the two, or the same in both");
    }
    const fwAllow = args.firewall === false ? undefined : args.firewall?.allow;
    if (fwAllow !== undefined && !Array.isArray(fwAllow)) {
        throw new DeclarationError("firewall.allow", `is ${JSON.stringify(fwAllow)}, not a list`, "give a list of addresses or CIDRs, or leave it out for login.sources");
    }
    fwAllow?.forEach((s, i) => checkSource(`firewall.allow[${i}]`, s));
    const sources = [...login.sources];
    const concerns: Concern[] = [];
    const wanted = (c: ConcernName) => only.includes(c);
    if (wanted("firewall-allowlist") && args.firewall !== false && (fwAllow ?? sources).length > 0) {
        concerns.push(validatedAs((h) => (h === "allow" ? (fwAllow ? "firewall.allow" : "login.sources") : h === "port" ? "login.port" : h),
            () => firewallAllowlistConcern({ allow: fwAllow ?? sources, verifyingSource: sources[0], port: login.port })));
    }
    if (wanted("hosts-access") && args.hostsAccess !== false && sources.length > 0) {
        concerns.push(validatedAs((h) => (h === "sshSources" ? "login.sources" : `hostsAccess.${h}`),
            () => hostsAccessConcern({ ...(args.hostsAccess || {}), sshSources: sources })));
    }
    if (wanted("selinux-mode") && args.selinux !== false) {
        concerns.push(validatedAs((h) => `selinux.${h}`, () => selinuxModeConcern({ relabelUsers: [login.user], ...(args.selinux || {}) })));
    }
    if (wanted("sshd-runtime") && args.runtime !== false) {
        concerns.push(validatedAs((h) => `runtime.${h}`, () => sshdRuntimeConcern(args.runtime || {}, { port: login.port })));
    }
    if (wanted("account") && args.account !== false) {
        concerns.push(validatedAs((h) => (h === "user" ? "login.user" : h === "method" ? "login" : `account.${h}`),
            () => accountConcern({ ...(args.account || {}), user: login.user, method: login.method })));
    }
    // sshd is asked about the verifying connection: from the first source when it is one address.
    const from = /^[0-9A-Fa-f.:]+(?:\/(?:32|128))?$/.test(sources[0] ?? "") ? sources[0].split("/")[0] : "127.0.0.1";
    const connection = `user=${login.user},host=${from},addr=${from},laddr=${login.address},lport=${login.port}`;
    if (wanted("login-key") && args.authorizedKeys !== false && login.method === "key" && args.login.publicKey !== undefined) {
        concerns.push(loginKeyConcern({ user: login.user, publicKey: args.login.publicKey, connection }));
    }
    if (wanted("sshd-config")) {
        concerns.push(validatedAs((h) => `sshd.${h}`, () => sshdConfigConcern({ ...args.sshd, settings },
            { user: login.user, method: login.method, address: login.address, source: from, port: login.port })));
    }
    if (concerns.length === 0) {
        throw new DeclarationError(only.length === 1 ? "login.sources" : "login", `leaves nothing for ${only.join(", ")} to manage`,
            "declare the sources the login comes from, or use SshAccess");
    }
    if (rescue === false) {
        return { concerns, login };
    }
    // What rebuilds these concerns where the rescue step runs (its provider): the declaration as
    // plain data, without the login's key or password (the public half stays: the key gate needs it).
    // The method stays known (an empty key or password): the concerns depend on it, not on the secret.
    const { privateKey, password, ...publicLogin } = args.login;
    const withheld = privateKey !== undefined ? { privateKey: "" } : password !== undefined ? { password: "" } : {};
    const known: Omit<KnownSshAccessArgs, "target" | "tencent"> = { ...args, login: { ...publicLogin, ...withheld } };
    delete (known as { target?: unknown }).target;
    delete (known as { tencent?: unknown }).tencent;
    const inRescue = concerns.map((c) => c.name as ConcernName).filter((n) => !(n in notFromRescue));
    if (inRescue.length === 0) {
        throw new DeclarationError("tencent.rescue.allowed", `leaves nothing to repair from rescue mode: ${concerns.map((c) => notFromRescue[c.name]).join("; ")}`,
            "leave rescue out of this component, or allow it on an SshAccess");
    }
    return {
        concerns, login,
        rescue: { args: JSON.parse(JSON.stringify(known)), only: inRescue, connection, device: rescue.device, loginWaitSec: rescue.loginWaitSec, leftOut: concerns.map((c) => c.name).filter((n) => n in notFromRescue) },
    };
}

/** A declaration's concerns, its login resolved, and what the rescue step rebuilds them from: what the pipeline spec is made of. */
export function resolveAccess(args: KnownSshAccessArgs): ReturnType<typeof buildAccess> {
    return buildAccess(args, ALL);
}

/** The concerns of a declaration as the rescue step rebuilds them from its inputs (see RescueAccess). */
export function rescueConcerns(r: RescueAccess): Concern[] {
    return sshAccessConcerns(r.args as KnownSshAccessArgs, r.only as ConcernName[]);
}

/** The derived public key, or the DeclarationError deriving it raised (thrown inside the edge, with the other checks). */
function publicKeyOrThrow(d: { key?: string; problem?: string; fix?: string } | undefined): string | undefined {
    if (d?.problem !== undefined) throw new DeclarationError("login.privateKey", d.problem, d.fix ?? "");
    return d?.key;
}

/** What a policy pack sees of a component of this file: the whole declaration, secrets reduced to the method. */
export function declarationInputs(args: SshAccessArgs): pulumi.Inputs {
    const { privateKey, password, ...login } = args.login;
    return {
        target: pulumi.output(args.target).apply((t) => (t.kind === "ssh"
            ? { kind: "ssh", host: t.host, port: t.port, user: t.user, hostKey: t.hostKey }
            : t.kind === "tat" ? { kind: "tat", instanceId: t.instanceId, region: t.region ?? null }
                : { kind: "console", prefix: t.prefix })),
        tencent: args.tencent ?? {},
        login: { ...login, method: privateKey !== undefined ? "key" : password !== undefined ? "password" : "none" },
        sshd: args.sshd ?? {},
        hostsAccess: args.hostsAccess ?? {},
        firewall: args.firewall ?? {},
        selinux: args.selinux ?? {},
        runtime: args.runtime ?? {},
        account: args.account ?? {},
        deadmanWindowSec: args.deadmanWindowSec ?? 60,
        snapshotsKept: args.snapshotsKept ?? 5,
        lockWaitSec: args.lockWaitSec,
    };
}

/**
 * The component behind SshAccess and the single-concern components: the declaration checked at
 * its edge, then one host pipeline with the chosen concerns.
 */
abstract class AccessComponent extends pulumi.ComponentResource {
    /** What was out of line when this run probed the host (empty on a converged host). */
    readonly drift: pulumi.Output<string[]>;
    /** The concerns this run changed. */
    readonly changed: pulumi.Output<string[]>;
    /** The on-host snapshot taken before the last change. */
    readonly snapshot: pulumi.Output<string | undefined>;
    /** When the declared login last succeeded after a change. */
    readonly verifiedAt: pulumi.Output<string | undefined>;
    /** The host keys the pipeline accepts for this host: pinned, or recorded on the first run. */
    readonly hostKeys: pulumi.Output<string[]>;
    /** Their SHA256 fingerprints (`ssh-ed25519 SHA256:…`): keys this run generated come first. */
    readonly hostKeyFingerprints: pulumi.Output<string[]>;
    /** Per gate, what the probe found and where: the evidence for every change and every refusal to change. */
    readonly evidence: pulumi.Output<Record<string, string[]>>;
    /** Tencent Cloud: the CBS snapshot of the system disk taken before the last change (`snap-…`). */
    readonly diskSnapshot: pulumi.Output<string | undefined>;
    /**
     * The diagnosis this run acted on: the causes its probe found, in the guide's catalogue
     * (`S1`–`S15`, or the key file, the account, …), most likely first, each with its evidence
     * (file and line, rule, library) and the change that fixes it; as `sshremedy diagnose` prints them.
     */
    readonly diagnosis: pulumi.Output<Diagnosed[]>;
    /**
     * Tencent Cloud: what the last repair through rescue mode did (what the disk's probe found,
     * the concerns changed, the snapshot on the disk, seconds out of service); undefined when none ran.
     */
    readonly rescue: pulumi.Output<RescueReport | undefined>;

    protected constructor(type: string, name: string, args: SshAccessArgs, only: readonly ConcernName[], opts?: pulumi.ComponentResourceOptions) {
        // The declaration travels as the component's inputs, so policy packs can judge it
        // (keys and passwords stay out of it: only which method the login uses).
        super(type, name, declarationInputs(args), opts);
        const prefix = args.declarationPath;
        const t = args.target as CommandTargetInput;
        // What may come from other resources is checked now where it is known now.
        atEdge(this, prefix, () => {
            checkKnownNow([...loginFields(args.login), ["firewall.allow", args.firewall ? args.firewall.allow : undefined, checkSource]]);
            const argv = !pulumi.Output.isInstance(t) && "prefix" in t ? t.prefix : undefined;
            if (argv !== undefined && isKnownNow(argv)) {
                checkCommandPrefix("target.prefix", argv);
            }
        });
        const l = args.login;
        // The key gate needs the login key's public half: derived here, not secret.
        const keyGate = only.includes("login-key") && args.authorizedKeys !== false && l.privateKey !== undefined;
        const publicKey = keyGate ? pulumi.unsecret(pulumi.output(l.privateKey!).apply((k) => {
            try {
                return { key: derivePublicKey(k) };
            } catch (e) {
                if (!isDeclarationError(e)) throw e;
                return { problem: e.problem, fix: e.fix };
            }
        })) : undefined;
        const spec = resolveSpec(this, prefix, {
            address: l.address, user: l.user, port: l.port, sources: l.sources, hostKey: l.hostKey,
            allow: args.firewall ? args.firewall.allow : undefined, publicKey,
        }, (v) => buildAccess({
            ...args,
            login: { ...l, address: v.address as string, user: v.user as string, port: v.port as number | undefined,
                sources: v.sources as string[] | undefined, hostKey: v.hostKey as string | undefined,
                publicKey: publicKeyOrThrow(v.publicKey as { key?: string; problem?: string; fix?: string } | undefined) },
            firewall: args.firewall === false ? false : args.firewall && { allow: v.allow as string[] | undefined },
        }, only));
        const t0 = args.target as CommandTargetInput;
        const tat = !pulumi.Output.isInstance(t0) && t0.kind === "tat" ? t0 as TatTargetInput : undefined;
        const settings = tat ? resolveTencentSettings({ ...tat.tencent, ...(tat.region !== undefined ? { region: tat.region } : {}) }) : undefined;
        const out = hostPipeline(this, name, {
            target: tat ? pulumi.all([tat.instanceId, settings!]).apply(([instanceId, s]) => ({ kind: "tat" as const, instanceId, settings: s }))
                : args.target as pulumi.Input<CommandTargetInput>,
            tencent: tat && {
                settings: settings!,
                instanceId: tat.instanceId,
                systemDiskId: tat.systemDiskId,
                diskSnapshot: args.tencent?.diskSnapshot === false ? false : { retentionDays: args.tencent?.diskSnapshot?.retentionDays ?? 7 },
                securityGroup: args.tencent?.securityGroup !== false,
                onFailure: args.tencent?.onFailure ?? "restore-files",
                rescue: args.tencent?.rescue?.allowed === true && args.tencent?.diskSnapshot !== false,
            },
            spec,
            privateKey: l.privateKey,
            password: l.password,
            deadmanWindowSec: args.deadmanWindowSec ?? 60,
            // Checked at the edge with the rest of the declaration; here only its default.
            lockWaitSec: args.lockWaitSec ?? (args.deadmanWindowSec ?? 60) + 30,
            snapshotsKept: args.snapshotsKept ?? 5,
            offlinePreview: offlinePreviewDefault(args.offlinePreview),
        });
        this.drift = out.drift;
        this.changed = out.pendingConcerns;
        this.snapshot = out.snapshot;
        this.verifiedAt = out.verifiedAt;
        this.hostKeys = out.hostKeys;
        this.hostKeyFingerprints = out.hostKeyFingerprints;
        this.evidence = out.evidence;
        this.diskSnapshot = out.diskSnapshot;
        this.diagnosis = out.diagnosis;
        this.rescue = out.rescue;
        this.registerOutputs({
            diskSnapshot: this.diskSnapshot, diagnosis: this.diagnosis, rescue: this.rescue,
            drift: this.drift, changed: this.changed, snapshot: this.snapshot, verifiedAt: this.verifiedAt, hostKeys: this.hostKeys,
            hostKeyFingerprints: this.hostKeyFingerprints, evidence: this.evidence,
        });
    }
}

/**
 * The whole SSH access path of one host, in the order that keeps the current path open longest:
 * firewall, hosts.allow/deny, SELinux labels, sshd's runtime, sshd_config, then one sshd restart,
 * one fresh login to verify, all inside one snapshot and one dead-man window.
 */
export class SshAccess extends AccessComponent {
    constructor(name: string, args: SshAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super(sshAccessType, name, args, ALL, opts);
    }
}

export type HostsAccessComponentArgs = AccessArgs & Pick<SshAccessArgs, "hostsAccess">;
export type FirewallAllowlistComponentArgs = AccessArgs & Pick<SshAccessArgs, "firewall">;
export type SelinuxModeComponentArgs = AccessArgs & Pick<SshAccessArgs, "selinux">;
export type SshdRuntimeComponentArgs = AccessArgs & Pick<SshAccessArgs, "runtime">;

/** hosts.allow / hosts.deny alone, through the same pipeline: `login.sources` admitted [S6]. */
export class HostsAccess extends AccessComponent {
    constructor(name: string, args: HostsAccessComponentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("sshremedy:index:HostsAccess", name, args, ["hosts-access"], opts);
    }
}

/** The host firewall's allowlist for the SSH port alone, through the same pipeline [S7]. */
export class FirewallAllowlist extends AccessComponent {
    constructor(name: string, args: FirewallAllowlistComponentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("sshremedy:index:FirewallAllowlist", name, args, ["firewall-allowlist"], opts);
    }
}

/** SELinux mode and the login's labels alone, through the same pipeline [S9]. */
export class SelinuxMode extends AccessComponent {
    constructor(name: string, args: SelinuxModeComponentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("sshremedy:index:SelinuxMode", name, args, ["selinux-mode"], opts);
    }
}

/** sshd's libraries, PAM modules and host keys alone, through the same pipeline [S12, S13]. */
export class SshdRuntime extends AccessComponent {
    constructor(name: string, args: SshdRuntimeComponentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("sshremedy:index:SshdRuntime", name, args, ["sshd-runtime"], opts);
    }
}
