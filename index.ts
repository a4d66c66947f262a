import * as pulumi from "@pulumi/pulumi";
import type { CommandTargetInput } from "./components/core/transport";
import { SshAccess, SshAccessArgs } from "./components/ssh-access";
import { describeInstance, resolveTencentSettings } from "./components/tencent";

/**
 * The stack program: every host of `sshremedy:hosts` gets one SshAccess, and `pulumi up` makes
 * its SSH access path match the declaration and proves the login works. Schema in README.md.
 */
interface HostDeclaration {
    readonly name: string;
    /** Out of band: an argv prefix that runs a command on the host (a console). */
    readonly console?: string[];
    /** Over SSH, as this admin user with `sshremedy:adminKey`, while SSH still admits it. */
    readonly ssh?: { readonly user: string; readonly port?: number };
    /**
     * A Tencent Cloud instance, reached through TAT (credentials: `tencentcloud:*` config or
     * `TENCENTCLOUD_*`); without `login.address`, the login goes to its public (default) or
     * private address as DescribeInstances gives it.
     */
    readonly tencent?: {
        readonly instanceId: string;
        readonly region?: string;
        readonly address?: "public" | "private";
    } & SshAccessArgs["tencent"];
    /** Who must be able to log in: `sshremedy:loginKey` (method key) or `sshremedy:loginPassword`. */
    readonly login: {
        /** Required, except for a `tencent` host (looked up). */
        readonly address?: string; readonly user: string; readonly port?: number; readonly method?: "key" | "password"; readonly sources?: string[];
        /** The host's public key (known_hosts form); without it the first run records what the host offers. */
        readonly hostKey?: string;
        /** The host's keys were replaced on purpose: accept and record the new ones on this run. */
        readonly hostKeyRotated?: boolean;
    };
    readonly sshd?: SshAccessArgs["sshd"];
    readonly hostsAccess?: SshAccessArgs["hostsAccess"];
    readonly firewall?: SshAccessArgs["firewall"];
    readonly selinux?: SshAccessArgs["selinux"];
    readonly runtime?: SshAccessArgs["runtime"];
    readonly account?: SshAccessArgs["account"];
    readonly deadmanWindowSec?: number;
    readonly lockWaitSec?: number;
}

const config = new pulumi.Config("sshremedy");

// Pulumi's Node SDK records, for every resource, the whole call stack that registered it (mapped
// through source maps) and keeps it in state. For a fleet that is most of the program's own
// CPU and 0.7 KB of state a resource, rewritten at every checkpoint; nothing of this project reads
// it. Off unless `sshremedy:resourceStackTraces` is true. A private method of the SDK: when a later
// SDK has none, this does nothing.
const sdkResource = pulumi.Resource as unknown as { stackTrace?: (skip: number) => unknown[] };
if (!config.getBoolean("resourceStackTraces") && typeof sdkResource.stackTrace === "function") {
    sdkResource.stackTrace = () => [];
}
const hosts = config.requireObject<HostDeclaration[]>("hosts");

function targetOf(h: HostDeclaration, at: string): CommandTargetInput {
    if ([h.console, h.ssh, h.tencent].filter((x) => x !== undefined).length > 1) {
        throw new Error(`sshremedy:${at}: give one of console, ssh or tencent`);
    }
    if (h.tencent) {
        return { kind: "tat", instanceId: h.tencent.instanceId, ...(h.tencent.region ? { region: h.tencent.region } : {}) };
    }
    if (h.console) {
        return { kind: "console", prefix: h.console };
    }
    if (h.ssh) {
        return { kind: "ssh", host: addressOf(h, at), port: h.ssh.port, user: h.ssh.user, hostKey: h.login.hostKey, privateKey: config.requireSecret("adminKey") };
    }
    throw new Error(`sshremedy:${at}: give console (an argv prefix), ssh ({ user }) or tencent ({ instanceId }) to say how the repair reaches the host`);
}

/** The login's address: declared, or a Tencent Cloud instance's, looked up (not secret: the lookup's credentials are). */
function addressOf(h: HostDeclaration, at: string): pulumi.Input<string> {
    if (h.login.address !== undefined) return h.login.address;
    const tc = h.tencent;
    if (!tc) throw new Error(`sshremedy:${at}.login.address: required (the address the login connects to)`);
    const which = tc.address ?? "public";
    return pulumi.unsecret(resolveTencentSettings(tc.region ? { region: tc.region } : {}).apply(async (s) => {
        const i = await describeInstance(s, tc.instanceId);
        const found = (which === "public" ? i.publicAddresses : i.privateAddresses)[0];
        if (!found) {
            throw new Error(`sshremedy:${at}.tencent.address: instance ${tc.instanceId} has no ${which} address; `
                + `use address "${which === "public" ? "private" : "public"}" or give login.address`);
        }
        return found;
    }));
}

export const results = Object.fromEntries(hosts.map((h, i) => {
    const password = h.login.method === "password";
    const at = `hosts[${i}]`;
    const access = new SshAccess(h.name, {
        target: targetOf(h, at),
        declarationPath: `sshremedy:${at}`,
        login: {
            address: addressOf(h, at),
            user: h.login.user,
            port: h.login.port,
            sources: h.login.sources,
            hostKey: h.login.hostKey,
            hostKeyRotated: h.login.hostKeyRotated,
            ...(password ? { password: config.requireSecret("loginPassword") } : { privateKey: config.requireSecret("loginKey") }),
        },
        sshd: h.sshd,
        hostsAccess: h.hostsAccess,
        firewall: h.firewall,
        selinux: h.selinux,
        runtime: h.runtime,
        account: h.account,
        deadmanWindowSec: h.deadmanWindowSec,
        lockWaitSec: h.lockWaitSec,
        ...(h.tencent ? { tencent: { diskSnapshot: h.tencent.diskSnapshot, securityGroup: h.tencent.securityGroup, onFailure: h.tencent.onFailure, rescue: h.tencent.rescue } } : {}),
    });
    return [h.name, { drift: access.drift, changed: access.changed, snapshot: access.snapshot, verifiedAt: access.verifiedAt, hostKeys: access.hostKeys, hostKeyFingerprints: access.hostKeyFingerprints, evidence: access.evidence, diagnosis: access.diagnosis, diskSnapshot: access.diskSnapshot, rescue: access.rescue }];
}));
