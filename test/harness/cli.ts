import * as path from "path";
import { ExecOptions, ExecResult, run } from "./exec";
import type { TestHost } from "./lab";

/** The repository: the CLI runs from its sources here, as `npm run sshremedy` does. */
export const repoRoot = path.resolve(__dirname, "..", "..");
const mainTs = path.join(repoRoot, "components", "cli", "main.ts");

/**
 * Runs `sshremedy <args>` from the sources (node -r esbuild-register components/cli/main.ts), in
 * the repository, with the given environment added to this process's. stdin is a pipe (never a
 * TTY), closed at once unless `input` is given.
 */
export function sshremedy(args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return run([process.execPath, "-r", "esbuild-register", mainTs, ...args], {
        cwd: repoRoot,
        timeoutMs: 180_000,
        ...opts,
        env: { ...process.env, NO_COLOR: "1", ...(opts.env ?? {}) },
    });
}

/** `--console <argv>`: the host's console as the CLI takes it (a JSON array). */
export function consoleArgs(host: TestHost): string[] {
    return ["--console", JSON.stringify(host.consolePrefix)];
}

/** Parses the JSON a command printed, saying what it printed when that is not JSON. */
export function parseJson<T = unknown>(r: ExecResult, what: string): T {
    try {
        return JSON.parse(r.stdout) as T;
    } catch {
        throw new Error(`${what}: not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
}
