import * as pulumi from "@pulumi/pulumi";
import { runOverTat, type TatTarget } from "../tencent/transport";
import { spawnCollect } from "./spawner";
import { providerShim } from "./provider-shim";
import type { TencentSettingsArgs } from "../tencent/settings";

/**
 * How a script reaches a host.
 * - `ssh`: the machine's OpenSSH client, for hosts whose SSH still admits the operator.
 * - `console`: an argv prefix run on the machine (e.g. `nsenter -t <pid> -a`, `ip netns exec …
 *   chroot …`, a serial-console wrapper, or nothing when Pulumi runs on the host itself): the
 *   out-of-band path when SSH is broken.
 * - `tat`: a Tencent Cloud instance through TencentCloud Automation Tools (`components/tencent`),
 *   when SSH is dead.
 * The script is always sent on standard input to `/bin/sh -s` (over TAT: as a file), never built
 * into a command line.
 */
export type CommandTarget = SshTarget | ConsoleTarget | TatTarget;
export type { TatTarget } from "../tencent/transport";

export interface SshTarget {
    readonly kind: "ssh";
    readonly host: string;
    /** Defaults to 22. */
    readonly port?: number;
    readonly user: string;
    /** OpenSSH private key text. Pass a Pulumi secret: it is stored encrypted and never logged. */
    readonly privateKey?: string;
    /**
     * A password login instead of a key (answered through SSH_ASKPASS, never on a command line).
     * Pass a Pulumi secret. Used when `privateKey` is not given.
     */
    readonly password?: string;
    /**
     * The host's public key as in known_hosts (`ssh-ed25519 AAAA…`). When given, the host must
     * present it. Defaults to trusting the key presented on first use within each run.
     */
    readonly hostKey?: string;
    /**
     * Keys the pipeline recorded for this host on an earlier run (known_hosts key text): any of
     * them is accepted, no other. Set by the pipeline, not by users (who pin `hostKey`).
     */
    readonly knownHostKeys?: readonly string[];
    /**
     * A login of its own, never through a shared connection: the pipeline's verifying login, which
     * must prove a fresh login works. Other connections to the same user and host share one SSH
     * connection per run (OpenSSH connection sharing, kept 30 s after its last use).
     */
    readonly fresh?: boolean;
}

export interface ConsoleTarget {
    readonly kind: "console";
    /** argv prefix that runs a command on the host, e.g. ["nsenter", "-t", "1234", "-a"]. */
    readonly prefix: readonly string[];
}

export interface ScriptResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * Runs a shell script on a host through its target. The ssh or console process is started by the
 * spawner's helper process (see spawner.ts), not by this one.
 */
export async function runScript(target: CommandTarget, script: string, timeoutMs = 120_000): Promise<ScriptResult> {
    if (target.kind === "tat") {
        return runOverTat(target, script, timeoutMs);
    }
    const fs: typeof import("fs") = require("fs");
    const os: typeof import("os") = require("os");
    const path: typeof import("path") = require("path");
    let argv: string[];
    let scratch: string | undefined;
    let env: NodeJS.ProcessEnv = process.env;
    if (target.kind === "ssh") {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-"));
        const knownHosts = path.join(scratch, "known_hosts");
        const port = target.port ?? 22;
        const hostPattern = port === 22 ? target.host : `[${target.host}]:${port}`;
        const keys = target.hostKey ? [target.hostKey] : [...(target.knownHostKeys ?? [])];
        fs.writeFileSync(knownHosts, keys.map((k) => `${hostPattern} ${k}\n`).join(""), { mode: 0o600 });
        let auth: string[];
        ({ auth, env } = sshAuthentication(scratch, target, process.env, `ssh target ${target.user}@${target.host}`));
        argv = ["ssh", "-F", "/dev/null", ...auth, "-p", String(port),
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", `UserKnownHostsFile=${knownHosts}`,
            "-o", `StrictHostKeyChecking=${keys.length > 0 ? "yes" : "accept-new"}`,
            // INFO, not ERROR: "Connection closed by …" and disconnect reasons are INFO messages.
            "-o", "ConnectTimeout=10", "-o", "LogLevel=INFO",
            // A link that goes down mid-phase is noticed in 15 s, not at the phase's timeout.
            "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
            ...(target.fresh ? ["-o", "ControlMaster=no", "-o", "ControlPath=none"] : sharedConnection()),
            "--", `${target.user}@${target.host}`, "/bin/sh -s"];
    } else {
        argv = [...target.prefix, "/bin/sh", "-s"];
    }
    try {
        const r = await spawnCollect(argv, { env, input: script, timeoutMs, detached: true });
        const stderr = r.stderr.split("\n").filter((l) => !l.startsWith("Warning: Permanently added")).join("\n");
        return { code: r.code, stdout: r.stdout, stderr };
    } finally {
        if (scratch) {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    }
}

/**
 * The OpenSSH client options and environment for one login by key or by password, its files in
 * `scratch` (the caller removes it): the key alone is offered; a password is read by the client
 * from an askpass program, which prints it from the environment, never from a command line.
 */
export function sshAuthentication(scratch: string, login: { readonly privateKey?: string; readonly password?: string }, baseEnv: NodeJS.ProcessEnv, what: string): { auth: string[]; env: NodeJS.ProcessEnv } {
    const fs: typeof import("fs") = require("fs");
    const path: typeof import("path") = require("path");
    if (login.privateKey) {
        const keyFile = path.join(scratch, "key");
        fs.writeFileSync(keyFile, login.privateKey.endsWith("\n") ? login.privateKey : `${login.privateKey}\n`, { mode: 0o600 });
        return { auth: ["-i", keyFile, "-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey"], env: baseEnv };
    }
    if (login.password !== undefined) {
        const askpass = path.join(scratch, "askpass");
        fs.writeFileSync(askpass, "#!/bin/sh\nprintf '%s\\n' \"$SSHREMEDY_ASKPASS\"\n", { mode: 0o700 });
        return {
            auth: ["-o", "BatchMode=no", "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1",
                "-o", "PreferredAuthentications=password,keyboard-interactive"],
            env: { ...baseEnv, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", SSHREMEDY_ASKPASS: login.password },
        };
    }
    throw new Error(`${what}: give privateKey or password`);
}

/**
 * OpenSSH connection sharing: the first connection to a user@host:port within one `pulumi` run
 * becomes the master, and the later ones of the run ride on it without a new handshake: the
 * program's probe opens it, and the provider process's phases (another process of the same run)
 * use it. The key exchange is most of an SSH client's CPU (OpenSSH 9.2's default, sntrup761,
 * about 65 ms a connection on each side), so a fleet run pays it once per host, plus the verifying
 * login, which is always fresh. Scoped to the run (the pulumi CLI's pid and start time, or this
 * process when it runs under no CLI) and kept 30 s after its last use, so no later run (and no
 * other host that takes the address) ever rides an old connection. The sockets live in a folder
 * only this user can enter, removed when the processes of the run end.
 */
function sharedConnection(): string[] {
    const fs: typeof import("fs") = require("fs");
    const os: typeof import("os") = require("os");
    const path: typeof import("path") = require("path");
    const uid = process.getuid?.() ?? 0;
    const g = globalThis as { __sshremedyMux?: string };
    let dir = g.__sshremedyMux;
    if (!dir || !fs.existsSync(dir)) {
        dir = path.join(os.tmpdir(), `sshremedy-mux-${uid}-${runScope()}`);
        try {
            fs.mkdirSync(dir, { mode: 0o700 });
        } catch (e) {
            const st = (e as NodeJS.ErrnoException).code === "EEXIST" ? fs.lstatSync(dir) : undefined;
            // Shared only when it is ours alone; anything else (a file, a link, another owner,
            // wider modes) gets a folder of this process's own instead.
            if (!st || !st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
                dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-mux-"));
            }
        }
        if (!g.__sshremedyMux) {
            process.once("exit", () => fs.rmSync(g.__sshremedyMux!, { recursive: true, force: true }));
        }
        g.__sshremedyMux = dir;
    }
    return ["-o", "ControlMaster=auto", "-o", `ControlPath=${dir}/%C`, "-o", "ControlPersist=30"];
}

/**
 * The `pulumi` run this process belongs to: the nearest ancestor named pulumi (the program runs
 * under the language host, the providers directly under the CLI), by pid and start time, so a
 * reused pid is another run. Without one, this process alone.
 */
export function runScope(): string {
    const fs: typeof import("fs") = require("fs");
    let pid = process.ppid;
    for (let depth = 0; depth < 4 && pid > 1; depth++) {
        let stat: string;
        try {
            stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        } catch {
            break;
        }
        // pid (comm) state ppid … starttime: comm may hold spaces and parentheses; the last ")" ends it.
        const close = stat.lastIndexOf(")");
        const comm = stat.slice(stat.indexOf("(") + 1, close);
        const fields = stat.slice(close + 2).split(" ");
        if (comm === "pulumi") {
            return `run-${pid}-${fields[19]}`;
        }
        pid = Number(fields[1]);
    }
    return `pid-${process.pid}`;
}

/** Where a target points, for messages: never includes the key. */
export function describeTarget(t: CommandTarget): string {
    return t.kind === "ssh" ? `ssh ${t.user}@${t.host}:${t.port ?? 22}`
        : t.kind === "tat" ? `tat ${t.instanceId} (${t.settings.region})` : `console ${t.prefix.join(" ")}`;
}

interface HostCommandState {
    target: CommandTarget;
    create: string;
    delete?: string;
    triggers?: unknown[];
    stdout: string;
}

export const hostCommandProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: HostCommandState) {
        const r = await runScript(inputs.target, inputs.create);
        if (r.code !== 0) {
            throw new Error(`script on ${describeTarget(inputs.target)} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
        }
        const crypto: typeof import("crypto") = require("crypto");
        return { id: crypto.randomUUID(), outs: { ...inputs, stdout: r.stdout } };
    },
    async diff(_id: string, olds: HostCommandState, news: HostCommandState) {
        const replaces = (["target", "create", "delete", "triggers"] as const)
            .filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },
    async delete(_id: string, props: HostCommandState) {
        if (!props.delete) {
            return;
        }
        const r = await runScript(props.target, props.delete);
        if (r.code !== 0) {
            throw new Error(`delete script on ${describeTarget(props.target)} exited ${r.code}: ${r.stderr.trim()}`);
        }
    },
};

/** A CommandTarget whose fields may be Pulumi inputs (a secret key, an address from another resource). */
export type CommandTargetInput =
    | { readonly [K in keyof Omit<SshTarget, "knownHostKeys">]: pulumi.Input<SshTarget[K]> }
    | { readonly [K in keyof ConsoleTarget]: pulumi.Input<ConsoleTarget[K]> }
    | TatTargetInput;

/**
 * A Tencent Cloud instance reached through TAT. Credentials and region come from the stack config
 * (`tencentcloud:secretId`, `tencentcloud:secretKey` (secret), `tencentcloud:region`,
 * `tencentcloud:securityToken`) or the environment (`TENCENTCLOUD_SECRET_ID`, …); `tencent`
 * gives them in the program instead.
 */
export interface TatTargetInput {
    readonly kind: "tat";
    /** `ins-…`: e.g. the `id` of a `tencentcloud.Instance` of the same stack. */
    readonly instanceId: pulumi.Input<string>;
    /** Defaults to `tencentcloud:region` / `TENCENTCLOUD_REGION`. */
    readonly region?: pulumi.Input<string>;
    /** The system disk (`disk-…`, e.g. an Instance's `systemDiskId`); looked up with DescribeInstances when not given. */
    readonly systemDiskId?: pulumi.Input<string>;
    readonly tencent?: TencentSettingsArgs;
}

export interface HostCommandArgs {
    readonly target: pulumi.Input<CommandTargetInput>;
    /** Script run on create (and again whenever it, the target or a trigger changes). */
    readonly create: pulumi.Input<string>;
    /** Script run on destroy. Defaults to nothing. */
    readonly delete?: pulumi.Input<string>;
    readonly triggers?: pulumi.Input<unknown[]>;
}

/**
 * A script run on a host over a CommandTarget: sshremedy's carrier for every host step.
 * The target (which holds the private key) is a secret output, so state keeps it encrypted.
 */
/** Its type token; the generic dynamic type it had before is an alias. */
export const hostCommandType = "pulumi-nodejs:dynamic/sshremedy:HostCommand";

/** Loaded by path in the provider process (see provider-shim.ts), like the pipeline's steps. */
const hostCommandShim = providerShim(require("path").join(__dirname, "transport"), "hostCommandProvider", ["create", "diff", "delete"]);

export class HostCommand extends pulumi.dynamic.Resource {
    declare readonly stdout: pulumi.Output<string>;

    constructor(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions) {
        super(hostCommandShim, name, { ...args, stdout: undefined },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["target"], aliases: [{ type: "pulumi-nodejs:dynamic:Resource" }] }),
            "sshremedy", "HostCommand");
    }
}
