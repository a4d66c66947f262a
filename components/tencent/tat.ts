import type { ScriptResult } from "../core/transport";
import type { TencentSettings } from "./settings";
import { call, hasCode, isTencentApiError, tencentRuntime, withHint } from "./api";
import { delay, outOfBandRoutes } from "./cvm";

/*
 * TAT (TencentCloud Automation Tools): runs a shell script on an instance through its agent,
 * without a login; the out-of-band transport when SSH is broken. RunCommand, then
 * DescribeInvocationTasks until the task ends. Like `runScript`, it resolves to the exit code
 * and output, and rejects only when the command could not be run or followed.
 */

/** TAT's limit on `Content`: 64 KB of base64, so at most 49152 bytes of script. */
export const tatContentLimit = 65_536;
/** TAT keeps at most this much output (base64-decoded) per task; the rest is counted in `Dropped`. */
export const tatOutputLimit = 24 * 1024;
/** Script bytes per chunk when a large script is installed on the host (59,676 bytes of `Content` each). */
export const tatChunkBytes = 32 * 1024;
/** Where large scripts are kept on the host, by the sha256 of their text. */
export const tatLibraryDir = "/var/lib/sshremedy/lib";

export interface TatRunArgs {
    readonly instanceId: string;
    readonly script: string;
    /** TAT's `Timeout`: the command is killed after it (1–86400 s). */
    readonly timeoutSec: number;
    /** Default root. */
    readonly username?: string;
    /** Default /root (TAT's default). */
    readonly workingDirectory?: string;
    /** Fixed interval between polls of the task. Default 0.5 s, growing by half each poll to 5 s. */
    readonly pollMs?: number;
    /** How long to wait for an agent that is not online yet (after a start). Default 0: fail at once. */
    readonly agentWaitSec?: number;
    /**
     * Time allowed for delivery on top of `timeoutSec` before this stops waiting (and cancels the
     * invocation). Default 120 s.
     */
    readonly deliveryGraceSec?: number;
}

export interface TatResult extends ScriptResult {
    /** The task's final TaskStatus: SUCCESS, FAILED, TIMEOUT, … */
    readonly status: string;
    readonly invocationId: string;
    readonly invocationTaskId?: string;
    /** Output bytes TAT dropped beyond its 24 KB. */
    readonly dropped: number;
}

/** Task states after which nothing changes. */
export const tatTerminalStatuses = ["SUCCESS", "FAILED", "TIMEOUT", "TASK_TIMEOUT", "DELIVER_FAILED", "START_FAILED",
    "CANCELLED", "TERMINATED"] as const;

/** What each non-exit terminal status means, for the result's stderr. */
const statusMeaning: Record<string, string> = {
    TIMEOUT: "the command ran past its timeout and was killed",
    TASK_TIMEOUT: "the agent stopped answering while the task ran",
    DELIVER_FAILED: "the command could not be delivered to the agent",
    START_FAILED: "the agent could not start the command (user, working directory or shell missing?)",
    CANCELLED: "the invocation was cancelled",
    TERMINATED: "the command was terminated",
};

/** No command can reach the instance: its TAT agent is offline or missing (an Error named "TatUnreachableError"). */
export interface TatUnreachableError extends Error {
    readonly instanceId: string;
    /** `Offline`, `not installed`, or what the API reported. */
    readonly agentStatus: string;
}

/** Makes a TatUnreachableError whose message names what is left: the VNC console and rescue mode. */
export function tatUnreachableError(instanceId: string, agentStatus: string, region: string, detail?: string): TatUnreachableError {
    const e = new Error(`TAT cannot run commands on Tencent Cloud instance ${instanceId}: its automation agent is ${agentStatus}`
        + `${detail ? ` (${detail})` : ""}. ${outOfBandRoutes(instanceId, region)}`);
    e.name = "TatUnreachableError";
    return Object.assign(e, { instanceId, agentStatus });
}

export function isTatUnreachableError(e: unknown): e is TatUnreachableError {
    return e instanceof Error && e.name === "TatUnreachableError";
}

/** How long an agent seen online is trusted without asking again. */
const agentTrustMs = 300_000;

function agentKey(settings: TencentSettings, instanceId: string): string {
    return `${settings.endpoint?.domain ?? ""}|${settings.region}|${instanceId}`;
}

/**
 * Throws a TatUnreachableError unless DescribeAutomationAgentStatus shows the instance's agent
 * Online, asking again every 2 s for up to `waitSec` (an instance just started reports its agent a
 * few seconds after RUNNING). An agent seen online is trusted for 5 minutes in this process.
 */
export async function ensureAgentOnline(settings: TencentSettings, instanceId: string, waitSec = 0): Promise<void> {
    const seen = tencentRuntime().agentsOnline;
    const key = agentKey(settings, instanceId);
    if (Date.now() - (seen.get(key) ?? 0) < agentTrustMs) return;
    const deadline = Date.now() + waitSec * 1000;
    for (;;) {
        const r = await call<{ AutomationAgentSet?: { InstanceId: string; AgentStatus?: string; LastHeartbeatTime?: string }[] }>(
            settings, "tat", "DescribeAutomationAgentStatus", { InstanceIds: [instanceId] });
        const agent = (r.AutomationAgentSet ?? []).find((a) => a.InstanceId === instanceId);
        if (agent?.AgentStatus === "Online") {
            seen.set(key, Date.now());
            return;
        }
        if (Date.now() >= deadline) {
            if (!agent) {
                throw tatUnreachableError(instanceId, "not installed", settings.region,
                    "DescribeAutomationAgentStatus does not list it; tat_agent is preinstalled only on public images made after "
                    + "2020-12-15, and TAT needs a VPC instance");
            }
            throw tatUnreachableError(instanceId, agent.AgentStatus ?? "unknown", settings.region,
                agent.LastHeartbeatTime ? `last heartbeat ${agent.LastHeartbeatTime}` : undefined);
        }
        await delay(Math.min(2000, Math.max(0, deadline - Date.now())));
    }
}

/** The script as TAT's `Content`, or an error naming the sizes when it is over the limit. Pure. */
export function tatContent(script: string): string {
    const content = Buffer.from(script, "utf8").toString("base64");
    if (content.length > tatContentLimit) {
        throw new Error(`script too large for TAT: ${Buffer.byteLength(script, "utf8")} bytes, ${content.length} bytes in base64; `
            + `RunCommand's Content is limited to ${tatContentLimit} bytes after base64 (scripts up to 49152 bytes). `
            + "Use runTatLarge, which installs the script on the host in chunks");
    }
    return content;
}

/**
 * Runs a script on the instance through TAT and resolves to its exit code and output, as
 * `runScript` does. TAT returns stdout and stderr as one stream, in `stdout`; `stderr` holds what
 * TAT itself reports: a status other than SUCCESS/FAILED (then `code` is null, like a killed
 * process) and output dropped beyond 24 KB. Rejects with TatUnreachableError when the agent is not
 * online, with a TencentApiError when the API refuses the command, and with an error naming the
 * sizes when the script is over TAT's 64 KB (before anything is sent).
 */
export async function runTat(settings: TencentSettings, args: TatRunArgs): Promise<TatResult> {
    if (!Number.isInteger(args.timeoutSec) || args.timeoutSec < 1 || args.timeoutSec > 86_400) {
        throw new Error(`TAT timeoutSec must be a whole number of seconds from 1 to 86400, got ${args.timeoutSec}`);
    }
    const content = tatContent(args.script);
    await ensureAgentOnline(settings, args.instanceId, args.agentWaitSec ?? 0);
    const send = () => call<{ InvocationId: string; CommandId?: string }>(settings, "tat", "RunCommand", {
        Content: content,
        CommandType: "SHELL",
        Timeout: args.timeoutSec,
        Username: args.username ?? "root",
        WorkingDirectory: args.workingDirectory ?? "/root",
        InstanceIds: [args.instanceId],
        SaveCommand: false,
    }, { retryAmbiguous: false });
    let invocationId: string;
    try {
        try {
            invocationId = (await send()).InvocationId;
        } catch (e) {
            // An agent trusted from an earlier look went away; with time to wait for it, wait once.
            if (!hasCode(e, "ResourceUnavailable.AgentStatusNotOnline") || !args.agentWaitSec) throw e;
            tencentRuntime().agentsOnline.delete(agentKey(settings, args.instanceId));
            await ensureAgentOnline(settings, args.instanceId, args.agentWaitSec);
            invocationId = (await send()).InvocationId;
        }
    } catch (e) {
        if (hasCode(e, "ResourceUnavailable.AgentStatusNotOnline", "ResourceUnavailable.AgentNotInstalled")) {
            tencentRuntime().agentsOnline.delete(agentKey(settings, args.instanceId));
            throw tatUnreachableError(args.instanceId,
                e.code === "ResourceUnavailable.AgentNotInstalled" ? "not installed" : "Offline", settings.region,
                `RunCommand: ${e.code}`);
        }
        if (hasCode(e, "ResourceUnavailable.InstanceStateNotRunning")) {
            throw withHint(e, `instance ${args.instanceId} is not RUNNING: start it (StartInstances) or check why it is down; `
                + `TAT runs commands only on running instances. ${outOfBandRoutes(args.instanceId, settings.region)}`);
        }
        throw e;
    }
    return await followInvocation(settings, args, invocationId);
}

interface RawTask {
    InvocationTaskId?: string;
    InstanceId?: string;
    TaskStatus?: string;
    TaskResult?: { ExitCode?: number; Output?: string; Dropped?: number } | null;
    ErrorInfo?: string;
}

async function followInvocation(settings: TencentSettings, args: TatRunArgs, invocationId: string): Promise<TatResult> {
    const waitSec = args.timeoutSec + (args.deliveryGraceSec ?? 120);
    const deadline = Date.now() + waitSec * 1000;
    let interval = args.pollMs ?? 500;
    let task: RawTask | undefined;
    for (;;) {
        await delay(interval);
        if (args.pollMs === undefined) interval = Math.min(5000, Math.round(interval * 1.5));
        const r = await call<{ InvocationTaskSet?: RawTask[] }>(settings, "tat", "DescribeInvocationTasks", {
            Filters: [{ Name: "invocation-id", Values: [invocationId] }],
            HideOutput: false,
        });
        task = (r.InvocationTaskSet ?? []).find((t) => t.InstanceId === undefined || t.InstanceId === args.instanceId);
        if (task?.TaskStatus && (tatTerminalStatuses as readonly string[]).includes(task.TaskStatus)) break;
        if (Date.now() >= deadline) {
            let cancelled = "";
            try {
                await call(settings, "tat", "CancelInvocation", { InvocationId: invocationId, InstanceIds: [args.instanceId] });
                cancelled = "; it was cancelled (CancelInvocation)";
            } catch (e) {
                cancelled = `; cancelling it failed (${isTencentApiError(e) ? e.code ?? e.detail : (e as Error).message}): `
                    + "it may still run";
            }
            throw new Error(`TAT invocation ${invocationId} on ${args.instanceId} is still ${task?.TaskStatus ?? "without a task"} `
                + `after ${waitSec} s${cancelled}`);
        }
    }
    return taskResult(invocationId, task);
}

/** A finished task as a result. Pure: exported for tests. */
export function taskResult(invocationId: string, task: RawTask): TatResult {
    const status = task.TaskStatus ?? "UNKNOWN";
    const output = task.TaskResult?.Output ? Buffer.from(task.TaskResult.Output, "base64").toString("utf8") : "";
    const dropped = Number(task.TaskResult?.Dropped ?? 0) || 0;
    const exit = task.TaskResult?.ExitCode;
    const exited = status === "SUCCESS" || status === "FAILED";
    const code = exited && typeof exit === "number" ? exit : exited ? (status === "SUCCESS" ? 0 : 1) : null;
    const notes: string[] = [];
    if (!exited) {
        notes.push(`TAT task ${status}: ${statusMeaning[status] ?? "the command did not finish"}`
            + `${task.ErrorInfo ? ` (${task.ErrorInfo})` : ""}${typeof exit === "number" ? `, exit code ${exit}` : ""}`);
    }
    if (dropped > 0) {
        notes.push(`TAT returned only ${tatOutputLimit / 1024} KB of the output: ${dropped} bytes were dropped`);
    }
    // A failure's notes alone would hide the output from messages built as `stderr || stdout`.
    if (notes.length > 0 && code !== 0 && output.trim() !== "") {
        notes.push(`output (last 4 KB):\n${output.slice(-4096)}`);
    }
    return {
        code,
        stdout: output,
        stderr: notes.length > 0 ? `${notes.join("\n")}\n` : "",
        status,
        invocationId,
        ...(task.InvocationTaskId ? { invocationTaskId: task.InvocationTaskId } : {}),
        dropped,
    };
}

export interface TatLargeResult extends TatResult {
    /** The script's sha256: its name in the host's library. */
    readonly sha256: string;
    /** Whether this call had to install it (in `chunks` RunCommands). */
    readonly installed: boolean;
    readonly chunks: number;
}

/** Marks the answer of a library invocation whose script is not on the host yet. */
function absentMarker(sha: string): string {
    return `sshremedy-lib-absent ${sha}`;
}

/** The small invocation that runs an installed library script, or reports it absent (exit 97). Pure. */
export function libraryRunScript(sha: string): string {
    return [
        `f='${tatLibraryDir}/${sha}.sh'`,
        `if [ -f "$f" ] && [ "$(sha256sum "$f" | cut -d ' ' -f 1)" = '${sha}' ]; then`,
        `    touch "$f"`,
        `    exec /bin/sh "$f"`,
        "fi",
        `echo '${absentMarker(sha)}'`,
        "exit 97",
        "",
    ].join("\n");
}

/**
 * The invocations that install a script as `<dir>/<sha256>.sh`: one per chunk of `tatChunkBytes`,
 * each written atomically to a parts directory; the last also joins the parts, checks the
 * sha256 and moves the file into place (so a half-installed script is never run), and removes
 * library scripts unused for 30 days. Pure.
 */
export function libraryInstallScripts(script: string): { sha256: string; chunks: string[] } {
    const crypto: typeof import("crypto") = require("crypto");
    const bytes = Buffer.from(script, "utf8");
    const sha = crypto.createHash("sha256").update(bytes).digest("hex");
    const parts = `${tatLibraryDir}/.${sha}.parts`;
    const count = Math.max(1, Math.ceil(bytes.length / tatChunkBytes));
    const chunks: string[] = [];
    for (let i = 0; i < count; i++) {
        const b64 = bytes.subarray(i * tatChunkBytes, (i + 1) * tatChunkBytes).toString("base64").replace(/.{76}/g, "$&\n");
        const lines = [
            "set -eu",
            "umask 077",
            `mkdir -p '${parts}'`,
            `base64 -d > '${parts}/${i}.tmp' <<'SSHREMEDY_CHUNK_END'`,
            b64,
            "SSHREMEDY_CHUNK_END",
            `mv '${parts}/${i}.tmp' '${parts}/${i}'`,
        ];
        if (i === count - 1) {
            const all = Array.from({ length: count }, (_, k) => `'${parts}/${k}'`).join(" ");
            lines.push(
                `cat ${all} > '${tatLibraryDir}/.${sha}.tmp'`,
                `got=$(sha256sum '${tatLibraryDir}/.${sha}.tmp' | cut -d ' ' -f 1)`,
                `if [ "$got" != '${sha}' ]; then rm -rf '${parts}' '${tatLibraryDir}/.${sha}.tmp'; `
                    + `echo "sshremedy-lib: checksum mismatch: got $got" >&2; exit 98; fi`,
                `mv '${tatLibraryDir}/.${sha}.tmp' '${tatLibraryDir}/${sha}.sh'`,
                `rm -rf '${parts}'`,
                `find '${tatLibraryDir}' -maxdepth 1 -name '*.sh' -mtime +30 -exec rm -f {} + 2>/dev/null || true`,
                `echo 'sshremedy-lib-installed ${sha}'`,
            );
        }
        chunks.push(`${lines.join("\n")}\n`);
    }
    return { sha256: sha, chunks };
}

/**
 * Runs a script of any size as root through TAT. One that fits in one RunCommand is sent as it
 * is (`runTat`). A larger one is kept on the host, content-addressed, as
 * `/var/lib/sshremedy/lib/<sha256>.sh`: a small invocation runs it when it is there (one
 * RunCommand); otherwise it is installed in chunks of 32 KiB of script (59,676 bytes of Content
 * each, under TAT's 65,536), then run. A script installed once is never sent again.
 */
export async function runTatLarge(settings: TencentSettings, args: Omit<TatRunArgs, "username">): Promise<TatLargeResult> {
    const crypto: typeof import("crypto") = require("crypto");
    const sha = crypto.createHash("sha256").update(Buffer.from(args.script, "utf8")).digest("hex");
    if (Buffer.from(args.script, "utf8").toString("base64").length <= tatContentLimit) {
        const r = await runTat(settings, args);
        return { ...r, sha256: sha, installed: false, chunks: 0 };
    }
    const runIt = () => runTat(settings, { ...args, script: libraryRunScript(sha) });
    const absent = (r: TatResult) => r.code === 97 && r.stdout.trim() === absentMarker(sha);
    const first = await runIt();
    if (!absent(first)) return { ...first, sha256: sha, installed: false, chunks: 0 };
    const { chunks } = libraryInstallScripts(args.script);
    for (const [i, chunk] of chunks.entries()) {
        const r = await runTat(settings, { ...args, script: chunk, timeoutSec: 120 });
        if (r.code !== 0) {
            throw new Error(`installing a ${Buffer.byteLength(args.script, "utf8")}-byte script on ${args.instanceId} through TAT: `
                + `chunk ${i + 1} of ${chunks.length} failed (${r.status}, exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
        }
    }
    const ran = await runIt();
    if (absent(ran)) {
        throw new Error(`installed script ${sha} is still missing on ${args.instanceId} (removed meanwhile, or ${tatLibraryDir} not kept)`);
    }
    return { ...ran, sha256: sha, installed: true, chunks: chunks.length };
}
