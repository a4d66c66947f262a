import * as pulumi from "@pulumi/pulumi";
import type { Concern } from "./core/concern";
import { DeclarationError, isDeclarationError } from "./core/errors";
import { parseIp } from "./core/ip";
import { refuse, type PipelineSpec } from "./core/pipeline";
import { LONE_SURROGATE } from "./core/quote";
import type { CommandTargetInput } from "./core/transport";
import { checkSource } from "./hosts-access/hosts-access";

/**
 * The declaration's edge: every component's arguments are checked here, once, and errors name
 * the user's own argument (`login.sources[0]`, or `hosts[2].login.sources[0]` under a
 * `declarationPath`). Values known when the component is constructed are checked then, so
 * `pulumi preview` fails at once; values that come from other resources are checked as soon as
 * they are known, before any script is sent to the host.
 */

/** Who must be able to log in once `pulumi up` is done: where, who, how, from where. */
export interface LoginArgs {
    /** The host's address for SSH (the verifying login goes there): often another resource's output. */
    readonly address: pulumi.Input<string>;
    /** The account that must get in. */
    readonly user: pulumi.Input<string>;
    /** The port the login connects to. Defaults to `sshd.settings.port`, else 22. */
    readonly port?: pulumi.Input<number>;
    /** Key login (a Pulumi secret). Either this or `password`. */
    readonly privateKey?: pulumi.Input<string>;
    /** Password login (a Pulumi secret): turns password authentication on, explicitly. */
    readonly password?: pulumi.Input<string>;
    /**
     * Addresses or CIDRs the login comes from (the machine running Pulumi, a bastion, the office):
     * hosts.allow and the firewall admit them. Defaults to none beyond what the host already admits.
     */
    readonly sources?: pulumi.Input<readonly pulumi.Input<string>[]>;
    /**
     * The host's public key as in known_hosts (`ssh-ed25519 AAAA…`): the verifying login and an ssh
     * transport accept only this key. Defaults to the keys the host's sshd offered on the first run,
     * recorded in the stack (the `hostKeys` output) and required on every later run.
     */
    readonly hostKey?: pulumi.Input<string>;
    /**
     * The host's keys were replaced on purpose: accept the keys it offers now and record them.
     * Set it for the run after a rotation, then remove it. Defaults to false.
     */
    readonly hostKeyRotated?: boolean;
}

/** What every component of the host pipeline takes besides its concern's own arguments. */
export interface AccessArgs {
    /**
     * How the repair reaches the host: `ssh` while it still admits you, an out-of-band `console`,
     * or `tat` for a Tencent Cloud instance (its automation agent, when SSH is dead).
     */
    readonly target: pulumi.Input<CommandTargetInput>;
    /** Tencent Cloud (target `tat`): what happens in the cloud around the repair. */
    readonly tencent?: TencentOptions;
    readonly login: LoginArgs;
    /** One dead-man window around the whole change, in seconds (10-3600). Defaults to 60. */
    readonly deadmanWindowSec?: number;
    /** Snapshots kept on the host, oldest pruned first (1-100). Defaults to 5. */
    readonly snapshotsKept?: number;
    /**
     * Seconds to wait while another sshremedy run holds the host's lock (1-3600) before failing with
     * nothing changed. Defaults to the dead-man window plus 30: long enough for a run that died
     * mid-change to be reverted by its dead-man, which lets go of the lock.
     */
    readonly lockWaitSec?: number;
    /**
     * In `pulumi preview`, plan from the declaration alone and contact no host (for CI jobs with no
     * route to the hosts, e.g. `pulumi preview --policy-pack`); `pulumi up` still probes first.
     * Defaults to the stack config `sshremedy:offlinePreview`, else false.
     */
    readonly offlinePreview?: boolean;
    /**
     * Where this declaration sits in your own configuration, e.g. `hosts[2]`: errors then name
     * `hosts[2].login.user` instead of `login.user`. Defaults to none.
     */
    readonly declarationPath?: string;
}

export interface TencentOptions {
    /**
     * A CBS snapshot of the system disk when the run is about to change the host, taken before
     * anything is sent to it, deleted by the cloud after `retentionDays` (default 7). false: none.
     */
    readonly diskSnapshot?: { readonly retentionDays?: number } | false;
    /** Admit `login.sources` on the login's port in the instance's security group. Defaults to true. */
    readonly securityGroup?: boolean;
    /**
     * When the verifying login fails: `restore-files` (default) puts back the files the run
     * changed; `rollback-disk` also, if the login still fails, stops the instance, rolls its system
     * disk back to the snapshot and starts it. Data written since the snapshot is then lost.
     */
    readonly onFailure?: "restore-files" | "rollback-disk";
    /**
     * When neither SSH nor TAT reaches the instance and the declared login fails: repair its system
     * disk from the instance's rescue mode (EnterRescueMode), after the CBS snapshot is NORMAL.
     * This stops the instance for a few minutes, so it is off by default (`allowed: false`).
     */
    readonly rescue?: RescueOptions;
}

export interface RescueOptions {
    /** Let a run stop the instance and repair its disk from rescue mode. Defaults to false. */
    readonly allowed?: boolean;
    /**
     * The instance's system disk as the rescue system sees it, e.g. `/dev/vdb1`. Defaults to the
     * first of /dev/vdb, /dev/sdb, /dev/xvdb, /dev/nvme1n1 (whole or a partition) that holds a system
     * with /etc/ssh and is not mounted.
     */
    readonly device?: string;
    /**
     * Seconds the declared login is given to work once the instance runs again (10-1800): its boot,
     * then sshd. Past it the repair counts as failed and its files are put back through rescue
     * mode again. Defaults to 180.
     */
    readonly loginWaitSec?: number;
}

/** Checks `tencent.rescue` against the rest of `tencent`; what the pipeline gets: false, or its options. */
export function checkRescue(at: string, t: TencentOptions | undefined): { readonly device?: string; readonly loginWaitSec: number } | false {
    const r = t?.rescue;
    if (r === undefined) return false;
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
        throw new DeclarationError(at, `is ${JSON.stringify(r)}, not an object`, "give { allowed: true } to allow rescue mode, or leave it out");
    }
    const unknown = Object.keys(r).filter((k) => !["allowed", "device", "loginWaitSec"].includes(k));
    if (unknown.length > 0) {
        throw new DeclarationError(`${at}.${unknown[0]}`, "is not an option of rescue", "give allowed and, where the defaults do not fit, device or loginWaitSec");
    }
    if (r.allowed !== undefined && typeof r.allowed !== "boolean") {
        throw new DeclarationError(`${at}.allowed`, `is ${JSON.stringify(r.allowed)}, not true or false`, "give true to allow rescue mode");
    }
    if (r.device !== undefined && (typeof r.device !== "string" || !/^\/dev\/[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/.test(r.device))) {
        throw new DeclarationError(`${at}.device`, `'${String(r.device)}' is not a device path`, "give the disk's device on the rescue system, e.g. /dev/vdb1");
    }
    const wait = r.loginWaitSec ?? 180;
    if (typeof wait !== "number" || !Number.isInteger(wait) || wait < 10 || wait > 1800) {
        throw new DeclarationError(`${at}.loginWaitSec`, `${JSON.stringify(wait)} is not a whole number of seconds from 10 to 1800`,
            "give the seconds the instance needs to boot and start sshd, e.g. 180");
    }
    if (r.allowed !== true) return false;
    if (t?.diskSnapshot === false) {
        throw new DeclarationError(`${at}.allowed`, "needs the disk snapshot, and tencent.diskSnapshot is false",
            "remove tencent.diskSnapshot: false: rescue mode changes a stopped disk only after its CBS snapshot is NORMAL");
    }
    return { ...(r.device !== undefined ? { device: r.device } : {}), loginWaitSec: wait };
}

/** The login with every value known and checked. */
export interface ResolvedLogin {
    readonly address: string;
    readonly user: string;
    readonly port: number;
    readonly method: "key" | "password";
    readonly sources: readonly string[];
    readonly hostKey?: string;
    readonly hostKeyRotated: boolean;
}

// --- one check per kind of value -----------------------------------------------------------

export function checkUser(path: string, user: unknown): string {
    if (typeof user !== "string" || !/^[a-z_][a-z0-9_.-]*\$?$/i.test(user) || user.length > 32) {
        throw new DeclarationError(path, `'${String(user)}' is not a user name`, "use the login name of the account that must get in");
    }
    return user;
}

export function checkAddress(path: string, address: unknown): string {
    if (typeof address !== "string" || !parseIp(address)) {
        throw new DeclarationError(path, `'${String(address)}' is not an IP address`, "give the address the login connects to, e.g. 203.0.113.10");
    }
    return address;
}

export function checkPort(path: string, port: unknown): number {
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new DeclarationError(path, `${String(port)} is not a TCP port`, "give sshd's port, 1-65535");
    }
    return port;
}

export function checkHostKey(path: string, key: unknown): string {
    const m = typeof key === "string" ? /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) ([A-Za-z0-9+/]+={0,2})(?: [^\r\n]*)?$/.exec(key.trim()) : null;
    // The key blob names its own type first (RFC 4253 6.6): a truncated or pasted-wrong key fails here.
    const blob = m ? Buffer.from(m[2], "base64") : Buffer.alloc(0);
    const named = blob.length >= 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1") : "";
    if (!m || named !== m[1]) {
        throw new DeclarationError(path, "is not a public host key in known_hosts form",
            "give '<type> <base64>' as in /etc/ssh/ssh_host_ed25519_key.pub, e.g. from ssh-keyscan over a trusted path");
    }
    return `${m[1]} ${m[2]}`;
}

export function checkCommandPrefix(path: string, prefix: unknown): readonly string[] {
    if (!Array.isArray(prefix) || prefix.length === 0) {
        throw new DeclarationError(path, "is not a non-empty list of arguments", 'give the argv that runs a command on the host, e.g. ["lxc-attach", "-n", "web-1", "--"]');
    }
    prefix.forEach((a, i) => {
        if (typeof a !== "string" || a.length === 0 || a.includes("\0") || LONE_SURROGATE.test(a)) {
            throw new DeclarationError(`${path}[${i}]`, `${JSON.stringify(a)} is not a command-line argument`,
                "give non-empty strings without NUL bytes or lone UTF-16 surrogates (an argv is UTF-8)");
        }
    });
    return prefix as string[];
}

export function checkWindow(path: string, w: number | undefined): number {
    if (w !== undefined && (!Number.isInteger(w) || w < 10 || w > 3600)) {
        throw new DeclarationError(path, `${w} is not a whole number of seconds from 10 to 3600`,
            "give the host enough time to restart sshd and be verified, e.g. 60");
    }
    return w ?? 60;
}

export function checkLockWait(path: string, w: number | undefined, window: number): number {
    if (w !== undefined && (!Number.isInteger(w) || w < 1 || w > 3600)) {
        throw new DeclarationError(path, `${w} is not a whole number of seconds from 1 to 3600`,
            "wait at least as long as another run's dead-man window, e.g. 90");
    }
    return w ?? window + 30;
}

export function checkKept(path: string, k: number | undefined): number {
    if (k !== undefined && (!Number.isInteger(k) || k < 1 || k > 100)) {
        throw new DeclarationError(path, `${k} is not a whole number from 1 to 100`, "keep at least the snapshot of the last change, e.g. 5");
    }
    return k ?? 5;
}

// --- known now, or later -----------------------------------------------------------------

/** A value that needs no deploy: not an Output or a promise, nor holding one. */
export function isKnownNow(value: unknown): boolean {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) return false;
    if (Array.isArray(value)) return value.every(isKnownNow);
    return true;
}

/**
 * The checks for the values a stack may take from other resources, each run now when its value
 * is known now; `resolve` runs all of them again (with the checks across values) once all are known.
 */
export function checkKnownNow(fields: readonly [string, unknown, (path: string, v: unknown) => unknown][]): void {
    for (const [path, value, check] of fields) {
        if (Array.isArray(value)) {
            // A list may hold known and unknown items: the known ones are checked now.
            value.forEach((v, i) => isKnownNow(v) && check(`${path}[${i}]`, v));
        } else if (value !== undefined && isKnownNow(value)) {
            check(path, value);
        }
    }
}

/** Runs `check` and, for a DeclarationError, fails as a ResourceError of `resource` under `prefix`. */
export function atEdge<T>(resource: pulumi.Resource, prefix: string | undefined, check: () => T): T {
    try {
        return check();
    } catch (e) {
        if (isDeclarationError(e)) {
            throw new pulumi.ResourceError(prefix ? e.under(prefix).message : e.message, resource, true);
        }
        throw e;
    }
}

/** The resolved declaration of a login, every value checked (paths under `root`: `login`, or `verify` for SshdConfig). */
export function resolveLogin(l: {
    address: unknown; user: unknown; port?: unknown; sources?: unknown; hostKey?: unknown;
    hostKeyRotated?: boolean; privateKey?: unknown; password?: unknown;
}, defaultPort: number, root = "login", addressKey = "address"): ResolvedLogin {
    if (l.privateKey === undefined && l.password === undefined) {
        throw new DeclarationError(root, "has neither privateKey nor password", "give the verifying login's key or password (as a secret)");
    }
    const sources = l.sources === undefined ? [] : l.sources;
    if (!Array.isArray(sources)) {
        throw new DeclarationError(`${root}.sources`, "is not a list", "give a list of addresses or CIDRs");
    }
    return {
        address: checkAddress(`${root}.${addressKey}`, l.address),
        user: checkUser(`${root}.user`, l.user),
        port: l.port === undefined ? defaultPort : checkPort(`${root}.port`, l.port),
        method: l.privateKey !== undefined ? "key" : "password",
        sources: sources.map((s, i) => checkSource(`${root}.sources[${i}]`, s).text),
        hostKey: l.hostKey === undefined ? undefined : checkHostKey(`${root}.hostKey`, l.hostKey),
        hostKeyRotated: l.hostKeyRotated === true,
    };
}

/** The checks of `login` whose values may be known now (the rest run in resolveLogin). */
export function loginFields(l: Partial<LoginArgs>, root = "login", addressKey = "address"): [string, unknown, (p: string, v: unknown) => unknown][] {
    return [
        [`${root}.${addressKey}`, l.address, checkAddress],
        [`${root}.user`, l.user, checkUser],
        [`${root}.port`, l.port, checkPort],
        [`${root}.sources`, l.sources, checkSource],
        [`${root}.hostKey`, l.hostKey, checkHostKey],
    ];
}

/** The stack config switch `sshremedy:offlinePreview`, when the component does not set it. */
export function offlinePreviewDefault(declared: boolean | undefined): boolean {
    return declared ?? new pulumi.Config("sshremedy").getBoolean("offlinePreview") ?? false;
}

/**
 * The pipeline's spec from a declaration whose values may come from other resources: `build`
 * gets them all known and returns the concerns (throwing DeclarationError on bad input). When
 * every value is known now, it runs now, so a bad declaration fails the preview at once.
 */
export function resolveSpec<V extends Record<string, unknown>>(
    resource: pulumi.Resource, prefix: string | undefined, values: { [K in keyof V]: pulumi.Input<V[K]> | undefined },
    build: (v: V) => { concerns: Concern[]; login: ResolvedLogin; rescue?: PipelineSpec["rescue"] },
): pulumi.Output<PipelineSpec> {
    const toSpec = (v: V): PipelineSpec => {
        const b = atEdge(resource, prefix, () => build(v));
        return {
            concerns: b.concerns,
            login: {
                host: b.login.address, port: b.login.port, user: b.login.user, hostKey: b.login.hostKey,
                hostKeyRotated: b.login.hostKeyRotated, sources: [...b.login.sources],
            },
            ...(b.rescue ? { rescue: b.rescue } : {}),
        };
    };
    if (Object.values(values).every(isKnownNow)) {
        return pulumi.output(toSpec(values as V));
    }
    // Known only at deploy time: a bad value is reported as the component's error, and the spec
    // carries the refusal so the pipeline contacts no host (a thrown error would reach the user
    // wrapped in serialisation messages, after the other resources' registrations).
    return pulumi.output(values as pulumi.Inputs).apply(async (v): Promise<PipelineSpec> => {
        try {
            return toSpec(v as V);
        } catch (e) {
            if (!pulumi.ResourceError.isInstance(e)) throw e;
            await refuse(e.message, resource);
            return { concerns: [], login: { host: "", port: 22, user: "", hostKeyRotated: false }, refused: e.message };
        }
    }) as pulumi.Output<PipelineSpec>;
}

