import * as pulumi from "@pulumi/pulumi";
import type { CommandTargetInput } from "./components/core/transport";
import { SshAccess, SshAccessArgs } from "./components/ssh-access";

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
    /** Who must be able to log in: `sshremedy:loginKey` (method key) or `sshremedy:loginPassword`. */
    readonly login: {
        readonly address: string; readonly user: string; readonly port?: number; readonly method?: "key" | "password"; readonly sources?: string[];
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
}

const config = new pulumi.Config("sshremedy");
const hosts = config.requireObject<HostDeclaration[]>("hosts");

function targetOf(h: HostDeclaration, at: string): CommandTargetInput {
    if (h.console && h.ssh) {
        throw new Error(`sshremedy:${at}: give either console or ssh, not both`);
    }
    if (h.console) {
        return { kind: "console", prefix: h.console };
    }
    if (h.ssh) {
        return { kind: "ssh", host: h.login.address, port: h.ssh.port, user: h.ssh.user, hostKey: h.login.hostKey, privateKey: config.requireSecret("adminKey") };
    }
    throw new Error(`sshremedy:${at}: give console (an argv prefix) or ssh ({ user }) to say how the repair reaches the host`);
}

export const results = Object.fromEntries(hosts.map((h, i) => {
    const password = h.login.method === "password";
    const at = `hosts[${i}]`;
    const access = new SshAccess(h.name, {
        target: targetOf(h, at),
        declarationPath: `sshremedy:${at}`,
        login: {
            address: h.login.address,
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
    });
    return [h.name, { drift: access.drift, changed: access.changed, snapshot: access.snapshot, verifiedAt: access.verifiedAt, hostKeys: access.hostKeys, hostKeyFingerprints: access.hostKeyFingerprints, evidence: access.evidence }];
}));
