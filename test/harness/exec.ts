import { spawn, spawnSync } from "child_process";

/** What a finished process left behind. `code` is null when it was killed by a signal. */
export interface ExecResult {
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
}

export interface ExecOptions {
    /** Text written to the process's standard input, then closed. */
    readonly input?: string;
    /** Killed with SIGKILL after this long. Defaults to 60 s. */
    readonly timeoutMs?: number;
    readonly env?: NodeJS.ProcessEnv;
    readonly cwd?: string;
}

/** Runs argv[0] with the rest as arguments, never through a shell, and collects its output. */
export function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), {
            env: opts.env ?? process.env,
            cwd: opts.cwd,
            stdio: ["pipe", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({
                code,
                signal,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            });
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.input ?? "");
    });
}

/** Like run, but a non-zero exit is an error that carries the command and its stderr. */
export async function runOk(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await run(argv, opts);
    if (r.code !== 0) {
        throw new Error(`${argv.join(" ")} exited ${r.code ?? r.signal}: ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return r;
}

/** Synchronous form for teardown paths that run inside exit and signal handlers. */
export function runSync(argv: readonly string[], timeoutMs = 10_000): ExecResult {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: timeoutMs });
    return { code: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}
