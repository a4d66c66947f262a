import type { ResourceValidationPolicy } from "@pulumi/policy";

/** Runs one policy's validateResource on a resource as the pack would see it; returns the messages. */
export function violations(policy: ResourceValidationPolicy, type: string, props: Record<string, unknown>,
    config: Record<string, unknown> = {}, name = "web-1"): string[] {
    const found: string[] = [];
    const validate = policy.validateResource as (a: unknown, r: (m: string) => void) => void;
    validate({
        type, name, props, urn: "urn", opts: {}, getConfig: () => config,
        notApplicable: (reason: string) => { throw new Error(`not applicable: ${reason}`); },
    }, (m) => found.push(m));
    return found;
}

/** A compliant SshAccess declaration, as declarationInputs sends it. */
export const access = {
    target: { kind: "console", prefix: ["nsenter", "-t", "1", "-a"] },
    login: { address: "198.18.0.2", user: "alice", method: "key", sources: ["198.18.0.1", "10.0.0.0/8"] },
    sshd: { settings: { permitRootLogin: "prohibit-password", passwordAuthentication: false, maxAuthTries: 6, maxStartups: "10:30:100" } },
    hostsAccess: {}, firewall: {}, selinux: {}, runtime: {}, deadmanWindowSec: 60, snapshotsKept: 5,
};

/** A compliant SshdConfig declaration, as its constructor sends it. */
export const sshd = {
    settings: { permitRootLogin: "prohibit-password", passwordAuthentication: false, maxAuthTries: 6, maxStartups: "10:30:100" },
    mode: { kind: "managed" }, configPath: "/etc/ssh/sshd_config",
    verify: { host: "198.18.0.2", user: "alice", method: "key" },
    deadmanWindowSec: 60, snapshotsKept: 5,
};

export const ACCESS = "sshremedy:index:SshAccess";
export const SSHD = "sshremedy:index:SshdConfig";
export const DYNAMIC = "pulumi-nodejs:dynamic/sshremedy:HostCommand";

/** SshAccess with its sshd settings extended. */
export const accessWith = (settings: Record<string, unknown>, login: Record<string, unknown> = {}) =>
    ({ ...access, login: { ...access.login, ...login }, sshd: { settings: { ...access.sshd.settings, ...settings } } });
/** SshdConfig with its settings extended. */
export const sshdWith = (settings: Record<string, unknown>, verify: Record<string, unknown> = {}) =>
    ({ ...sshd, verify: { ...sshd.verify, ...verify }, settings: { ...sshd.settings, ...settings } });
