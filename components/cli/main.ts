#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from "commander";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as readline from "readline";
import pc from "picocolors";
import type { CommandTarget } from "../core/transport";
import { parseEndpointConfig, tencentConfigKeys, TencentSettings } from "../tencent/settings";
import { diagnose, Diagnosis, DiagnoseLogin } from "./diagnose";
import { checkSnapshotId, listSnapshots, restoreSnapshot, SnapshotList } from "./snapshots";

/**
 * `sshremedy`: the command line beside the components. `diagnose` says what refuses a login and
 * why, changing nothing; `snapshots` lists what the pipeline keeps on a host; `restore` puts one
 * back. Exit status: 0 the login works, 1 it does not, 2 the tool could not look.
 */

export const exitCodes = { loginWorks: 0, loginFails: 1, couldNotLook: 2 } as const;

interface WayInOptions {
    console?: string;
    ssh?: string;
    adminKey?: string;
    tat?: string;
    region?: string;
    stackHost?: string;
    stack?: string;
    cwd?: string;
}

interface LoginOptions {
    address?: string;
    user?: string;
    port?: number;
    key?: string;
    passwordEnv?: string;
    source?: string[];
    hostKey?: string;
}

class UsageError extends Error {}

function port(v: string): number {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError("a port from 1 to 65535");
    return n;
}

function collect(v: string, prev: string[] = []): string[] {
    return [...prev, v];
}

/** A console argv: a JSON array, or words separated by spaces. */
export function consoleArgv(text: string): string[] {
    const t = text.trim();
    if (t.startsWith("[")) {
        const a = JSON.parse(t) as unknown;
        if (!Array.isArray(a) || a.length === 0 || !a.every((x) => typeof x === "string" && x.length > 0)) {
            throw new UsageError("--console: give a JSON array of non-empty strings, or words separated by spaces");
        }
        return a as string[];
    }
    const words = t.split(/\s+/).filter(Boolean);
    if (words.length === 0) throw new UsageError("--console: empty");
    return words;
}

function readSecretFile(file: string, what: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new UsageError(`${what}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
}

/** The stack's declaration of one host and its secrets, through the pulumi CLI (`pulumi config --show-secrets`). */
function stackHost(o: WayInOptions): { login: DiagnoseLogin; target: CommandTarget } {
    const args = ["config", "--json", "--show-secrets", ...(o.stack ? ["--stack", o.stack] : []), ...(o.cwd ? ["--cwd", o.cwd] : [])];
    const r = spawnSync("pulumi", args, { encoding: "utf8" });
    if (r.status !== 0) throw new UsageError(`--stack-host: pulumi config failed: ${(r.stderr || r.error?.message || "").trim()}`);
    const config = JSON.parse(r.stdout) as Record<string, { value?: string; objectValue?: unknown }>;
    const value = (k: string) => config[k]?.value;
    const hosts = (config["sshremedy:hosts"]?.objectValue ?? JSON.parse(value("sshremedy:hosts") ?? "[]")) as Record<string, any>[];
    const h = hosts.find((x) => x.name === o.stackHost);
    if (!h) throw new UsageError(`--stack-host: no host named ${o.stackHost} in sshremedy:hosts (${hosts.map((x) => x.name).join(", ") || "none"})`);
    const password = h.login.method === "password";
    const login: DiagnoseLogin = {
        address: h.login.address, user: h.login.user, port: h.login.port, sources: h.login.sources, hostKey: h.login.hostKey,
        ...(password ? { password: value("sshremedy:loginPassword") } : { privateKey: value("sshremedy:loginKey") }),
    };
    let target: CommandTarget;
    if (h.console) target = { kind: "console", prefix: h.console };
    else if (h.ssh) target = { kind: "ssh", host: h.login.address, port: h.ssh.port, user: h.ssh.user, privateKey: value("sshremedy:adminKey"), hostKey: h.login.hostKey };
    else if (h.tencent) target = { kind: "tat", instanceId: h.tencent.instanceId, settings: tencentFromEnv(h.tencent.region) };
    else throw new UsageError(`--stack-host: ${o.stackHost} declares no way in`);
    return { login, target };
}

/** Tencent Cloud credentials from the environment (TENCENTCLOUD_*), as the components read them. */
function tencentFromEnv(region: string | undefined): TencentSettings {
    const env = (k: string) => (process.env[k] ? process.env[k] : undefined);
    const secretId = env(tencentConfigKeys.secretId.env);
    const secretKey = env(tencentConfigKeys.secretKey.env);
    const r = region ?? env(tencentConfigKeys.region.env);
    if (!secretId || !secretKey || !r) {
        throw new UsageError(`--tat: set ${tencentConfigKeys.secretId.env}, ${tencentConfigKeys.secretKey.env} and the region (--region or ${tencentConfigKeys.region.env})`);
    }
    const endpoint = parseEndpointConfig(env("SSHREMEDY_TENCENT_ENDPOINT"));
    const token = env(tencentConfigKeys.securityToken.env);
    return { secretId, secretKey, region: r, ...(token ? { securityToken: token } : {}), ...(endpoint ? { endpoint } : {}) };
}

function wayIn(o: WayInOptions, login: DiagnoseLogin | undefined): CommandTarget | undefined {
    const given = [o.console, o.ssh, o.tat].filter((x) => x !== undefined).length;
    if (given > 1) throw new UsageError("give one way in: --console, --ssh or --tat");
    if (o.console !== undefined) return { kind: "console", prefix: consoleArgv(o.console) };
    if (o.ssh !== undefined) {
        const m = /^([^@\s]+)@(\[[^\]]+\]|[^:\s]+)(?::(\d+))?$/.exec(o.ssh);
        if (!m) throw new UsageError(`--ssh: '${o.ssh}' is not user@host or user@host:port`);
        const key = o.adminKey ? readSecretFile(o.adminKey, "--admin-key") : login?.privateKey;
        if (!key) throw new UsageError("--ssh: give --admin-key (or a login --key, used for both)");
        return { kind: "ssh", user: m[1], host: m[2].replace(/^\[|\]$/g, ""), port: m[3] ? Number(m[3]) : 22, privateKey: key };
    }
    if (o.tat !== undefined) {
        if (!/^ins-[a-z0-9]+$/.test(o.tat)) throw new UsageError(`--tat: '${o.tat}' is not an instance id (ins-…)`);
        return { kind: "tat", instanceId: o.tat, settings: tencentFromEnv(o.region) };
    }
    return undefined;
}

function loginOf(o: LoginOptions): DiagnoseLogin {
    if (!o.address || !o.user) throw new UsageError("give the login: --address and --user (or --stack-host)");
    if (!o.key && !o.passwordEnv) throw new UsageError("give the login's --key <file> or --password-env <variable>");
    const password = o.passwordEnv !== undefined ? process.env[o.passwordEnv] : undefined;
    if (o.passwordEnv !== undefined && password === undefined) throw new UsageError(`--password-env: ${o.passwordEnv} is not set`);
    return {
        address: o.address, user: o.user, port: o.port, sources: o.source, hostKey: o.hostKey,
        ...(o.key ? { privateKey: readSecretFile(o.key, "--key") } : { password }),
    };
}

function resolve(o: WayInOptions & LoginOptions, needLogin: boolean): { login?: DiagnoseLogin; target?: CommandTarget } {
    if (o.stackHost) return stackHost(o);
    const login = needLogin || o.address ? loginOf(o) : undefined;
    return { login, target: wayIn(o, login) };
}

function addWayIn(c: Command): Command {
    return c
        .option("--console <argv>", "a command that runs a shell on the host (JSON array, or words): a serial console, lxc-attach, nsenter")
        .option("--ssh <admin@host[:port]>", "over SSH as an admin the host still admits")
        .option("--admin-key <file>", "the admin's private key for --ssh (default: the login's --key)")
        .option("--tat <instance-id>", "a Tencent Cloud instance, through TAT (credentials: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY)")
        .option("--region <region>", "the instance's region (default: TENCENTCLOUD_REGION)")
        .option("--stack-host <name>", "a host of the stack's sshremedy:hosts: its login, secrets and way in")
        .option("--stack <stack>", "with --stack-host: the stack (default: the selected one)")
        .option("--cwd <dir>", "with --stack-host: the Pulumi project's folder");
}

function addLogin(c: Command): Command {
    return c
        .option("--address <address>", "the address the login connects to")
        .option("--user <user>", "the user who must log in")
        .addOption(new Option("--port <port>", "sshd's port").argParser(port))
        .option("--key <file>", "the login's private key (offered alone)")
        .option("--password-env <variable>", "an environment variable that holds the login's password")
        .option("--source <address>", "an address the login comes from (repeatable; default: this machine's address towards the host)", collect)
        .option("--host-key <key>", "the host's public key (known_hosts form) to accept");
}

/** The human report of a diagnosis. */
export function formatDiagnosis(d: Diagnosis): string {
    const out: string[] = [];
    const who = `${d.login.user}@${d.login.address}:${d.login.port} (${d.login.method})`;
    out.push(d.attempt.ok ? `${pc.green("login works")}: ${who}` : `${pc.red("login fails")}: ${who}: ${d.attempt.message} [${d.attempt.kind}]`);
    out.push(d.wayIn ? `looked through: ${d.wayIn}${d.looked ? "" : pc.yellow(" (could not look: see problems)")}` : "looked through: nothing (no way in given): causes are not known");
    const blocking = d.causes.filter((c) => c.blocking);
    if (d.causes.length === 0) {
        out.push(d.looked ? "no cause found: every gate of the login path admits this login" : "");
    } else {
        out.push(blocking.length === 0 ? "nothing refuses this login; drift:"
            : d.attempt.ok ? "this attempt got in, but these refuse other logins or attempts (e.g. more keys offered):" : "causes, most likely first:");
        d.causes.forEach((c, i) => {
            const mark = c.consistent ? pc.bold(`${i + 1}. [${c.id}] ${c.title}`) : `${i + 1}. [${c.id}] ${c.title}`;
            out.push(`${mark}  (guide ${c.guide}; found by ${c.concern}${c.blocking ? "" : "; does not refuse the login now"})`);
            for (const e of c.evidence) out.push(`     evidence: ${e}`);
            out.push(`     fix: ${c.fix}`);
        });
    }
    for (const p of d.problems) out.push(pc.yellow(`problem: ${p}`));
    return out.filter((l) => l !== "").join("\n");
}

function formatSnapshots(s: SnapshotList): string {
    if (s.host.length === 0 && s.disk.length === 0) return "no snapshots";
    const out = s.host.map((x) => `${x.id}  ${new Date(x.created * 1000).toISOString()}  run ${x.run ?? "?"}  ${x.paths.length} paths: ${x.paths.join(" ")}`);
    out.push(...s.disk.map((x) => `${x.id}  ${x.created}  CBS ${x.state} ${x.name}`));
    return out.join("\n");
}

async function confirm(question: string): Promise<boolean> {
    if (!process.stdin.isTTY) return false;
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    const answer = await new Promise<string>((r) => rl.question(`${question} [y/N] `, r));
    rl.close();
    return /^y(es)?$/i.test(answer.trim());
}

export function program(): Command {
    const p = new Command("sshremedy")
        .description("What refuses an SSH login, and the snapshots sshremedy keeps on a host")
        .showHelpAfterError()
        .exitOverride();

    addWayIn(addLogin(p.command("diagnose")
        .description("try the login, probe every gate of the host's login path without changing anything, and print the causes found")
        .option("--json", "print the diagnosis as JSON (schema: docs/diagnose.schema.json)")))
        .action(async (o: WayInOptions & LoginOptions & { json?: boolean }) => {
            const { login, target } = resolve(o, true);
            const d = await diagnose({ login: login!, target });
            process.stdout.write(`${o.json ? JSON.stringify(d, null, 2) : formatDiagnosis(d)}\n`);
            process.exitCode = d.attempt.ok ? exitCodes.loginWorks : target && !d.looked ? exitCodes.couldNotLook : exitCodes.loginFails;
        });

    addWayIn(p.command("snapshots")
        .description("list the snapshots on the host (and CBS snapshots of a Tencent Cloud instance)")
        .option("--json", "print them as JSON"))
        .action(async (o: WayInOptions & { json?: boolean }) => {
            const { target } = resolve(o, false);
            if (!target) throw new UsageError("give a way in: --console, --ssh, --tat or --stack-host");
            const s = await listSnapshots(target);
            process.stdout.write(`${o.json ? JSON.stringify(s, null, 2) : formatSnapshots(s)}\n`);
        });

    addWayIn(addLogin(p.command("restore")
        .description("put a snapshot back (the dead-man's own restore script), then prove the login with a fresh SSH login")
        .argument("<id>", "the snapshot's id, as `snapshots` lists it")
        .option("--yes", "do not ask")))
        .action(async (id: string, o: WayInOptions & LoginOptions & { yes?: boolean }) => {
            const { login, target } = resolve(o, false);
            if (!target) throw new UsageError("give a way in: --console, --ssh, --tat or --stack-host");
            // The id first, then whether the host has it: nothing is asked, locked or changed for a snapshot that is not there.
            checkSnapshotId(id);
            const listed = await listSnapshots(target);
            if (!listed.host.some((x) => x.id === id)) {
                throw new UsageError(`no snapshot ${id} on the host (${listed.host.map((x) => x.id).join(", ") || "it has none"})`);
            }
            if (!o.yes && !(await confirm(`restore snapshot ${id} on ${target.kind === "ssh" ? target.host : target.kind}? The files it holds replace the live ones and sshd restarts.`))) {
                process.stderr.write("not restored (give --yes to restore without asking)\n");
                process.exitCode = exitCodes.couldNotLook;
                return;
            }
            const r = await restoreSnapshot(target, id, login);
            process.stdout.write(`${r.report}\n`);
            process.exitCode = r.loginWorks === false ? exitCodes.loginFails : exitCodes.loginWorks;
        });
    return p;
}

export async function main(argv: readonly string[]): Promise<number> {
    try {
        await program().parseAsync([...argv], { from: "user" });
        return Number(process.exitCode ?? 0);
    } catch (e) {
        const err = e as { code?: string; exitCode?: number; message?: string };
        if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
        if (err.code?.startsWith("commander.")) return exitCodes.couldNotLook;
        process.stderr.write(`sshremedy: ${err.message ?? String(e)}\n`);
        return exitCodes.couldNotLook;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
