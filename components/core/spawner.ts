import type { ChildProcess } from "child_process";

/**
 * Runs the transports' processes (ssh, a console command) from a small helper process rather than
 * from this one.
 *
 * Node starts a child by forking the whole process and waits, on its one thread, until the child
 * has exec'd. The program and the provider process hold a few hundred MB (the Pulumi SDK, gRPC,
 * a fleet's outputs): measured on this project's 2-core machine, each start blocked the event loop
 * 25–45 ms, and 150–270 ms while fifty SSH handshakes competed for the CPU. A fleet's program
 * starts one probe per host, so resource registrations waited seconds behind them. The helper
 * is a bare Node process of about 40 MB started once: it forks cheaply, and its waiting blocks
 * nobody else.
 */
export interface Spawned {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

export interface SpawnOptions {
    readonly env: NodeJS.ProcessEnv;
    /** Written to the child's standard input, which is then closed. */
    readonly input: string;
    /** SIGKILL after this long. */
    readonly timeoutMs: number;
    /** A process group of its own (see child_process.spawn). */
    readonly detached?: boolean;
}

/** The helper: one message in (what to run), one message out (how it ended and what it printed). */
const helperSource = `"use strict";
const cp = require("child_process");
process.on("disconnect", () => process.exit(0));
process.on("message", (m) => {
    let done = false;
    const reply = (r) => { if (!done) { done = true; process.send({ id: m.id, ...r }); } };
    let child;
    try {
        child = cp.spawn(m.argv[0], m.argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: m.env, detached: m.detached });
    } catch (e) {
        return reply({ error: String(e && e.message || e) });
    }
    const out = [], err = [];
    child.stdout.on("data", (b) => out.push(b));
    child.stderr.on("data", (b) => err.push(b));
    const timer = setTimeout(() => child.kill("SIGKILL"), m.timeoutMs);
    child.on("error", (e) => { clearTimeout(timer); reply({ error: e.message }); });
    child.on("close", (code) => {
        clearTimeout(timer);
        reply({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(m.input);
});
`;

interface Waiting {
    resolve(r: Spawned): void;
    reject(e: Error): void;
}

let helper: ChildProcess | undefined;
const waiting = new Map<number, Waiting>();
let nextId = 1;

function startHelper(): ChildProcess {
    const cp: typeof import("child_process") = require("child_process");
    // No environment of its own (each child gets the one asked for), so no NODE_OPTIONS either.
    const h = cp.spawn(process.execPath, ["-e", helperSource], { stdio: ["ignore", "ignore", "ignore", "ipc"], env: {} });
    h.on("message", (m: { id: number; code?: number | null; stdout?: string; stderr?: string; error?: string }) => {
        const w = waiting.get(m.id);
        if (!w) return;
        waiting.delete(m.id);
        if (waiting.size === 0) idle(h);
        if (m.error !== undefined) w.reject(new Error(m.error));
        else w.resolve({ code: m.code ?? null, stdout: m.stdout ?? "", stderr: m.stderr ?? "" });
    });
    h.on("exit", (code, signal) => {
        if (helper === h) helper = undefined;
        const lost = [...waiting.values()];
        waiting.clear();
        for (const w of lost) w.reject(new Error(`the process runner ended (${signal ?? `exit ${code}`}) before its command did`));
    });
    h.on("error", () => undefined);
    idle(h);
    return h;
}

/** An idle helper does not keep this process alive; a busy one does, until its answers are in. */
function idle(h: ChildProcess): void {
    h.unref();
    (h.channel as { unref?: () => void } | undefined)?.unref?.();
}

function busy(h: ChildProcess): void {
    h.ref();
    (h.channel as { ref?: () => void } | undefined)?.ref?.();
}

/** Runs argv (never through a shell) to its end through the helper, and collects its output. */
export function spawnCollect(argv: readonly string[], opts: SpawnOptions): Promise<Spawned> {
    if (!helper || !helper.connected) helper = startHelper();
    const h = helper;
    const id = nextId++;
    return new Promise<Spawned>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        busy(h);
        h.send({ id, argv, env: opts.env, input: opts.input, timeoutMs: opts.timeoutMs, detached: opts.detached ?? false }, (e) => {
            if (e && waiting.delete(id)) reject(e);
        });
    });
}
