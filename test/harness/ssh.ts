import { ExecResult, run } from "./exec";

export interface LoginAttempt {
    readonly address: string;
    readonly user: string;
    readonly port?: number;
    /** Private key files offered in this order (IdentitiesOnly: nothing else is offered). */
    readonly keys?: readonly string[];
    /** A password login instead of keys (through sshpass, read from the environment). */
    readonly password?: string;
    /** Remote command; defaults to printing the user name, which proves a shell ran. */
    readonly command?: string;
    readonly connectTimeoutSec?: number;
}

export interface LoginResult extends ExecResult {
    /** True when the remote command ran and printed the expected user name. */
    readonly ok: boolean;
    /** stderr without the client's chatter about adding host keys, then `[exit N]`. */
    readonly symptom: string;
}

/** One fresh login with the real OpenSSH client; no config file, no agent, no known_hosts. */
export async function sshLogin(a: LoginAttempt): Promise<LoginResult> {
    const opts = [
        "-F", "/dev/null",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", `ConnectTimeout=${a.connectTimeoutSec ?? 10}`,
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-p", String(a.port ?? 22),
    ];
    let argv: string[];
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    if (a.password !== undefined) {
        env.SSHPASS = a.password;
        argv = ["sshpass", "-e", "ssh", ...opts,
            "-o", "PubkeyAuthentication=no",
            "-o", "PreferredAuthentications=password,keyboard-interactive",
            "-o", "NumberOfPasswordPrompts=1"];
    } else {
        argv = ["ssh", ...opts, "-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey"];
        for (const k of a.keys ?? []) {
            argv.push("-i", k);
        }
    }
    const command = a.command ?? "id -un";
    argv.push(`${a.user}@${a.address}`, command);
    const r = await run(argv, { env, timeoutMs: ((a.connectTimeoutSec ?? 10) + 20) * 1000 });
    const symptom = r.stderr
        .split("\n")
        .filter((l) => l && !l.startsWith("Warning: Permanently added"))
        .concat(`[exit ${r.code ?? r.signal}]`)
        .join("\n");
    const ok = r.code === 0 && (a.command !== undefined || r.stdout.trim() === a.user);
    return { ...r, ok, symptom };
}
