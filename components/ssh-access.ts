import * as pulumi from "@pulumi/pulumi";
import type { Concern } from "./core/concern";
import { firewallAllowlistConcern } from "./firewall-allowlist/firewall-allowlist";
import type { CommandTargetInput } from "./core/transport";
import { hostsAccessConcern, HostsAccessArgs } from "./hosts-access/hosts-access";
import { hostPipeline } from "./core/pipeline";
import { selinuxModeConcern, SelinuxModeArgs } from "./selinux-mode/selinux-mode";
import { sshdConfigConcern, SshdConfigDeclaration, validatePipelineArgs } from "./sshd-config/sshd-config";
import { sshdRuntimeConcern, SshdRuntimeArgs } from "./sshd-runtime/sshd-runtime";
import { DeclarationError } from "./core/errors";
import { validateSshdSettings } from "./sshd-config/validate";

export const sshAccessType = "sshremedy:index:SshAccess";

/** The login that must work once `pulumi up` is done: who, how, from where. */
export interface LoginArgs {
    /** The host's address for SSH (the verifying login goes there). */
    readonly address: string;
    readonly user: string;
    /** Key login (a Pulumi secret). Either this or `password`. */
    readonly privateKey?: pulumi.Input<string>;
    /** Password login (a Pulumi secret): turns password authentication on, explicitly. */
    readonly password?: pulumi.Input<string>;
    /**
     * Addresses or CIDRs the login comes from (the machine running Pulumi, a bastion, the office):
     * hosts.allow and the firewall admit them. Defaults to none beyond what the host already admits.
     */
    readonly sources?: readonly string[];
}

export interface SshAccessArgs {
    /** How the repair reaches the host: `ssh` while it still admits you, or an out-of-band `console`. */
    readonly target: pulumi.Input<CommandTargetInput>;
    readonly login: LoginArgs;
    /** sshd_config beyond what the login needs. Defaults to the host's file, changed only as far as the login needs. */
    readonly sshd?: Partial<SshdConfigDeclaration>;
    /** hosts.allow / hosts.deny. Defaults to admitting `login.sources` where a rule would refuse them. false: not managed. */
    readonly hostsAccess?: Omit<HostsAccessArgs, "sshSources"> | false;
    /** The SSH port's allowlist on the host firewall. Defaults to `login.sources`. false: not managed. */
    readonly firewall?: { readonly allow?: readonly string[] } | false;
    /** SELinux mode and labels. Defaults to enforcing where the host runs SELinux, and ~/.ssh of the login relabelled. */
    readonly selinux?: SelinuxModeArgs | false;
    /** sshd's libraries, PAM modules, host keys. Defaults to repairing from the host's own package cache. false: not managed. */
    readonly runtime?: SshdRuntimeArgs | false;
    /** One dead-man window around the whole change. Defaults to 60 s. */
    readonly deadmanWindowSec?: number;
    /** Defaults to 5. */
    readonly snapshotsKept?: number;
}

/**
 * The whole SSH access path of one host, in the order that keeps the current path open longest:
 * firewall, hosts.allow/deny, SELinux labels, sshd's runtime, sshd_config, then one sshd restart,
 * one fresh login to verify, all inside one snapshot and one dead-man window.
 */
export class SshAccess extends pulumi.ComponentResource {
    /** What was out of line when this run probed the host (empty on a converged host). */
    readonly drift: pulumi.Output<string[]>;
    /** The concerns this run changed. */
    readonly changed: pulumi.Output<string[]>;
    readonly snapshot: pulumi.Output<string | undefined>;
    readonly verifiedAt: pulumi.Output<string | undefined>;

    constructor(name: string, args: SshAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        // The declaration travels as the component's inputs, so policy packs can judge it
        // (keys and passwords stay out of it: only which method the login uses).
        super(sshAccessType, name, declarationInputs(args), opts);
        let concerns: Concern[];
        try {
            concerns = sshAccessConcerns(args);
        } catch (e) {
            throw new pulumi.ResourceError(e instanceof Error ? e.message : String(e), this);
        }
        const port = args.sshd?.settings?.port ?? 22;
        const out = hostPipeline(this, name, {
            target: args.target,
            concerns,
            verify: { host: args.login.address, port, user: args.login.user, privateKey: args.login.privateKey, password: args.login.password },
            deadmanWindowSec: args.deadmanWindowSec ?? 60,
            snapshotsKept: args.snapshotsKept ?? 5,
        });
        this.drift = out.drift;
        this.changed = out.pendingConcerns;
        this.snapshot = out.snapshot;
        this.verifiedAt = out.verifiedAt;
        this.registerOutputs({ drift: this.drift, changed: this.changed, snapshot: this.snapshot, verifiedAt: this.verifiedAt });
    }
}

/** The concerns of one host, validated; throws naming the argument on bad input. */
export function sshAccessConcerns(args: SshAccessArgs): Concern[] {
    const login = args.login;
    validatePipelineArgs({ verify: { host: login.address, user: login.user, privateKey: login.privateKey, password: login.password },
        deadmanWindowSec: args.deadmanWindowSec, snapshotsKept: args.snapshotsKept });
    if (!/^[0-9a-fA-F.:]+$/.test(login.address)) {
        throw new DeclarationError("login.address", `'${login.address}' is not an IP address`, "give the address the login connects to");
    }
    const settings = args.sshd?.settings ?? {};
    validateSshdSettings(settings);
    const sources = [...(login.sources ?? [])];
    const method = login.privateKey !== undefined ? "key" : "password";
    const concerns: Concern[] = [];
    if (args.firewall !== false && (args.firewall?.allow ?? sources).length > 0) {
        concerns.push(firewallAllowlistConcern({ allow: args.firewall?.allow ?? sources, verifyingSource: sources[0], port: settings.port ?? 22 }));
    }
    if (args.hostsAccess !== false && sources.length > 0) {
        concerns.push(hostsAccessConcern({ ...(args.hostsAccess || {}), sshSources: sources }));
    }
    if (args.selinux !== false) {
        concerns.push(selinuxModeConcern({ relabelUsers: [login.user], ...(args.selinux || {}) }));
    }
    if (args.runtime !== false) {
        concerns.push(sshdRuntimeConcern(args.runtime || {}));
    }
    concerns.push(sshdConfigConcern({ ...args.sshd, settings }, { user: login.user, method, address: login.address }));
    return concerns;
}

/** What a policy pack sees of an SshAccess: the whole declaration, secrets reduced to the method. */
export function declarationInputs(args: SshAccessArgs): pulumi.Inputs {
    const { privateKey, password, ...login } = args.login;
    return {
        target: pulumi.output(args.target).apply((t) => (t.kind === "ssh"
            ? { kind: "ssh", host: t.host, port: t.port, user: t.user, hostKey: t.hostKey }
            : { kind: "console", prefix: t.prefix })),
        login: { ...login, method: privateKey !== undefined ? "key" : password !== undefined ? "password" : "none" },
        sshd: args.sshd ?? {},
        hostsAccess: args.hostsAccess ?? {},
        firewall: args.firewall ?? {},
        selinux: args.selinux ?? {},
        runtime: args.runtime ?? {},
        deadmanWindowSec: args.deadmanWindowSec ?? 60,
        snapshotsKept: args.snapshotsKept ?? 5,
    };
}
