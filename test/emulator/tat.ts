import { ChildProcess, spawn } from "child_process";
import { run } from "../harness/exec";
import {
    ApiError, isoTime, Json, optBool, optFilters, optInt, optString, optStrings, page, Params, reqString, reqStrings,
} from "./params";
import { CallContext, ServiceDef } from "./server";
import { CommandDocument, Core, InstanceRecord, InvocationRecord, sleep, TaskRecord, terminalTaskStates } from "./state";

/**
 * TAT 2020-10-28: commands run by the automation agent inside the instance. Here the agent is the
 * host's console (nsenter into all of its namespaces, as root), and a task runs the way the open
 * source agent runs one: the script stored in a file, run by bash (or sh) with a login-like
 * environment, as the named user (uid and primary gid, no supplementary groups), in the working
 * directory, stdin from /dev/null, stderr merged into stdout, its own process group killed with
 * SIGKILL on timeout (TIMEOUT, ExitCode -1). The first 24 KB of output are kept, the rest counted
 * in Dropped. A missing user or directory fails the start (START_FAILED, ErrorInfo as the agent words it).
 */

/** The largest base64 Content RunCommand takes. */
export const maxContentBytes = 64 * 1024;
/** The output a task keeps; the rest is only counted (TaskResult.Dropped). */
export const maxOutputBytes = 24 * 1024;
const startedMarker = "sshremedy-emulated-tat-agent: started";

/** Runs as root inside the host: checks, stores the script from stdin, then becomes the task. */
const agentScript = `
u=$1 d=$2 f=$3
pw=$(getent passwd "$u") || { echo "UserNotExists: user \\\`$u\\\` not exists" >&2; exit 1; }
[ -d "$d" ] || { echo "DirectoryNotExists: working_directory \\\`$d\\\` not exists" >&2; exit 1; }
uid=$(echo "$pw" | cut -d: -f3); gid=$(echo "$pw" | cut -d: -f4); home=$(echo "$pw" | cut -d: -f6)
{ cat >"$f" && chmod 0755 "$f"; } || { echo "ScriptStoreFailed: script file store failed at \\\`$f\\\`" >&2; exit 1; }
if sh=$(command -v bash); then
  init='. /etc/profile 2> /dev/null ; . ~/.bash_profile 2> /dev/null || . ~/.bashrc 2> /dev/null ; '
else
  sh=$(command -v sh); init=
fi
cd "$d" || exit 1
echo "${startedMarker}" >&2
exec </dev/null 2>&1 setpriv --reuid="$uid" --regid="$gid" --clear-groups -- env SHELL="$sh" HOME="$home" USER="$u" \\
  LOGNAME="$u" USERNAME="$u" MAIL="/var/spool/mail/$u" TERM=xterm-color "$sh" -c "$init\\"\\$0\\"" "$f"
`;

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function runCommand(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const content = reqString(p, "Content");
    if (content.length > maxContentBytes) {
        throw new ApiError("InvalidParameterValue.TooLong", `Content is ${content.length} bytes of base64; at most ${maxContentBytes} are allowed.`);
    }
    if (!base64Pattern.test(content) || Buffer.from(content, "base64").length === 0) {
        throw new ApiError("InvalidParameterValue.InvalidContent", "Content must be the command, base64-encoded, and not empty.");
    }
    const ids = reqStrings(p, "InstanceIds");
    const commandType = optString(p, "CommandType") ?? "SHELL";
    if (!["SHELL", "POWERSHELL", "BAT"].includes(commandType)) {
        throw new ApiError("InvalidParameterValue", `CommandType must be SHELL, POWERSHELL or BAT; got ${commandType}.`);
    }
    const workingDirectory = optString(p, "WorkingDirectory") || "/root";
    if (commandType === "SHELL" && !workingDirectory.startsWith("/")) {
        throw new ApiError("InvalidParameterValue.InvalidWorkingDirectory", `WorkingDirectory must be an absolute path; got ${workingDirectory}.`);
    }
    const timeout = optInt(p, "Timeout") ?? 60;
    if (timeout < 1 || timeout > 86400) {
        throw new ApiError("InvalidParameterValue.Range", `Timeout must be between 1 and 86400 seconds; got ${timeout}.`);
    }
    const username = optString(p, "Username") || "root";
    optString(p, "CommandName");
    optString(p, "Description");
    optBool(p, "SaveCommand");
    if (optBool(p, "EnableParameter") || p.DefaultParameters !== undefined || p.Parameters !== undefined
        || p.OutputCOSBucketUrl !== undefined || p.OutputCOSKeyPrefix !== undefined) {
        throw new ApiError("InvalidParameterValue", "Custom parameters and COS output are not modelled by this emulator.");
    }
    if (ids.length > 200) {
        throw new ApiError("InvalidParameterValue.LimitExceeded", `At most 200 InstanceIds per request; got ${ids.length}.`);
    }
    const bad = ids.filter((id) => !/^(ins|lhins)-[0-9a-z]{8}$/.test(id));
    if (bad.length > 0) {
        throw new ApiError("InvalidParameterValue.InvalidInstanceId", `Malformed instance id(s): ${bad.join(", ")}.`);
    }
    const instances = ids.map((id) => {
        const i = core.instanceIn(ctx.region, id);
        if (!i) {
            throw new ApiError("ResourceNotFound.InstanceNotFound", `The instance ${id} does not exist in ${ctx.region}.`);
        }
        return i;
    });
    for (const i of instances) {
        if (i.state !== "RUNNING") {
            throw new ApiError("ResourceUnavailable.InstanceStateNotRunning", `The instance ${i.id} is ${i.state}, not RUNNING.`);
        }
        if (i.machine.consolePrefix() === undefined) {
            throw new ApiError("ResourceUnavailable.AgentNotInstalled", `The TAT agent is not installed on ${i.id}.`);
        }
        if (!core.agentOnline(i)) {
            throw new ApiError("ResourceUnavailable.AgentStatusNotOnline", `The TAT agent on ${i.id} is not online.`);
        }
    }
    const document: CommandDocument = { Content: content, CommandType: commandType, Timeout: timeout, WorkingDirectory: workingDirectory, Username: username };
    const invocation: InvocationRecord = {
        id: core.newId("inv"), commandId: core.newId("cmd"), region: ctx.region, createdMs: Date.now(), document,
        taskIds: instances.map(() => core.newId("invt")),
    };
    core.invocations.set(invocation.id, invocation);
    instances.forEach((i, n) => {
        const task: TaskRecord = {
            id: invocation.taskIds[n], invocationId: invocation.id, commandId: invocation.commandId, instanceId: i.id,
            createdMs: Date.now(), status: "PENDING", exitCode: 0, output: Buffer.alloc(0), dropped: 0, errorInfo: "",
            startMs: null, endMs: null, updatedMs: Date.now(),
        };
        core.tasks.set(task.id, task);
        core.background(() => runTask(core, i, task, document));
    });
    return { CommandId: invocation.commandId, InvocationId: invocation.id };
}

function finish(task: TaskRecord, status: TaskRecord["status"], exitCode: number, errorInfo = ""): void {
    task.status = status;
    task.exitCode = exitCode;
    task.errorInfo = errorInfo;
    task.endMs = Date.now();
    task.updatedMs = task.endMs;
}

async function runTask(core: Core, instance: InstanceRecord, task: TaskRecord, doc: CommandDocument): Promise<void> {
    await sleep(core.latency.taskDeliveryMs);
    const prefix = instance.machine.consolePrefix();
    if (!prefix || !core.agentOnline(instance) || core.closed) {
        finish(task, "DELIVER_FAILED", -1, "the agent went offline before the task was delivered");
        return;
    }
    if (doc.CommandType !== "SHELL") {
        finish(task, "START_FAILED", -1, `invalid cmd_type: ${doc.CommandType}`);
        return;
    }
    const scriptPath = `/tmp/${task.id}.sh`;
    task.status = "RUNNING";
    task.startMs = Date.now();
    task.updatedMs = task.startMs;
    const child = spawn(prefix[0], [...prefix.slice(1), "/bin/sh", "-c", agentScript, "tat-agent", doc.Username, doc.WorkingDirectory, scriptPath], {
        detached: true,
        stdio: ["pipe", "pipe", "pipe"],
    });
    const result = await collect(child, task, doc.Timeout * 1000, Buffer.from(doc.Content, "base64"));
    if (!result.started) {
        finish(task, "START_FAILED", -1, result.agentErrors.trim() || "the task could not be started");
    } else if (result.timedOut) {
        finish(task, "TIMEOUT", -1);
    } else {
        const code = result.code ?? -1;
        finish(task, code === 0 ? "SUCCESS" : "FAILED", code);
    }
    // The agent removes its script file afterwards.
    if (instance.state === "RUNNING" && !core.closed) {
        const cleanup = instance.machine.consolePrefix();
        if (cleanup) {
            await run([...cleanup, "rm", "-f", scriptPath], { timeoutMs: 10_000 });
        }
    }
}

interface Collected {
    readonly started: boolean;
    readonly timedOut: boolean;
    readonly code: number | null;
    readonly agentErrors: string;
}

function collect(child: ChildProcess, task: TaskRecord, timeoutMs: number, script: Buffer): Promise<Collected> {
    return new Promise((resolve) => {
        let timedOut = false;
        let agentErrors = "";
        const append = (chunk: Buffer) => {
            const room = Math.max(0, maxOutputBytes - task.output.length);
            if (room > 0) {
                task.output = Buffer.concat([task.output, chunk.subarray(0, room)]);
            }
            task.dropped += Math.max(0, chunk.length - room);
            task.updatedMs = Date.now();
        };
        const killGroup = () => {
            try {
                if (child.pid) {
                    process.kill(-child.pid, "SIGKILL");
                }
            } catch {
                /* already gone */
            }
        };
        const timer = setTimeout(() => {
            timedOut = true;
            killGroup();
        }, timeoutMs);
        child.stdout?.on("data", (b: Buffer) => append(b));
        child.stderr?.on("data", (b: Buffer) => {
            agentErrors += b.toString("utf8");
        });
        child.stdin?.on("error", () => undefined);
        child.stdin?.end(script);
        let exit: { code: number | null } | undefined;
        let outputClosed = false;
        const done = () => {
            clearTimeout(timer);
            const started = agentErrors.includes(startedMarker);
            resolve({ started, timedOut, code: exit?.code ?? null, agentErrors: agentErrors.replace(startedMarker, "") });
        };
        child.stdout?.on("close", () => {
            outputClosed = true;
            if (exit) {
                done();
            }
        });
        child.on("error", (e) => {
            agentErrors += e.message;
            exit = { code: null };
            done();
        });
        child.on("exit", (code) => {
            exit = { code };
            if (outputClosed) {
                done();
            } else {
                // Like the agent: a background child holding the output open does not hold the task.
                setTimeout(() => {
                    killGroup();
                    done();
                }, 1_000);
            }
        });
    });
}

function taskJson(core: Core, t: TaskRecord, hideOutput: boolean): Record<string, Json> {
    const inv = core.invocations.get(t.invocationId) as InvocationRecord;
    return {
        InvocationId: t.invocationId,
        InvocationTaskId: t.id,
        CommandId: t.commandId,
        TaskStatus: t.status,
        InstanceId: t.instanceId,
        TaskResult: {
            ExitCode: t.exitCode,
            Output: hideOutput ? "" : t.output.toString("base64"),
            ExecStartTime: t.startMs === null ? null : isoTime(t.startMs),
            ExecEndTime: t.endMs === null ? null : isoTime(t.endMs),
            Dropped: t.dropped,
            OutputUrl: "",
            OutputUploadCOSErrorInfo: "",
        },
        StartTime: t.startMs === null ? null : isoTime(t.startMs),
        EndTime: t.endMs === null ? null : isoTime(t.endMs),
        CreatedTime: isoTime(t.createdMs),
        UpdatedTime: isoTime(t.updatedMs),
        CommandDocument: { ...inv.document, OutputCOSBucketUrl: "", OutputCOSKeyPrefix: "" },
        ErrorInfo: t.errorInfo,
        InvocationSource: "USER",
    };
}

const taskFilters: Record<string, (t: TaskRecord) => string> = {
    "invocation-id": (t) => t.invocationId,
    "invocation-task-id": (t) => t.id,
    "instance-id": (t) => t.instanceId,
    "command-id": (t) => t.commandId,
};

function describeInvocationTasks(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const ids = optStrings(p, "InvocationTaskIds");
    const filters = optFilters(p, Object.keys(taskFilters), "InvalidParameterValue.InvalidFilter");
    if (ids && filters) {
        throw new ApiError("InvalidParameter.ConflictParameter", "InvocationTaskIds and Filters cannot be specified at the same time.");
    }
    const hideOutput = optBool(p, "HideOutput") ?? true;
    const { offset, limit } = page(p, 20, 100, "InvalidParameterValue.Range");
    let set = [...core.tasks.values()].filter((t) => core.invocations.get(t.invocationId)?.region === ctx.region
        && (!ids || ids.includes(t.id)));
    for (const f of filters ?? []) {
        set = set.filter((t) => f.values.includes(taskFilters[f.name](t)));
    }
    set.sort((a, b) => b.createdMs - a.createdMs);
    return { TotalCount: set.length, InvocationTaskSet: set.slice(offset, offset + limit).map((t) => taskJson(core, t, hideOutput)) };
}

function invocationStatus(tasks: readonly TaskRecord[]): string {
    if (tasks.every((t) => t.status === "PENDING")) {
        return "PENDING";
    }
    if (tasks.some((t) => !terminalTaskStates.includes(t.status))) {
        return "RUNNING";
    }
    for (const s of ["SUCCESS", "TIMEOUT"] as const) {
        if (tasks.every((t) => t.status === s)) {
            return s;
        }
    }
    return tasks.some((t) => t.status === "SUCCESS") ? "PARTIAL_FAILED" : "FAILED";
}

const invocationFilters: Record<string, (i: InvocationRecord) => string> = {
    "invocation-id": (i) => i.id,
    "command-id": (i) => i.commandId,
    "command-created-by": () => "USER",
    "instance-kind": () => "CVM",
};

function describeInvocations(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const ids = optStrings(p, "InvocationIds");
    const filters = optFilters(p, Object.keys(invocationFilters), "InvalidParameterValue.InvalidFilter");
    if (ids && filters) {
        throw new ApiError("InvalidParameter.ConflictParameter", "InvocationIds and Filters cannot be specified at the same time.");
    }
    const { offset, limit } = page(p, 20, 100, "InvalidParameterValue.Range");
    let set = [...core.invocations.values()].filter((i) => i.region === ctx.region && (!ids || ids.includes(i.id)));
    for (const f of filters ?? []) {
        set = set.filter((i) => f.values.includes(invocationFilters[f.name](i)));
    }
    set.sort((a, b) => b.createdMs - a.createdMs);
    return {
        TotalCount: set.length,
        InvocationSet: set.slice(offset, offset + limit).map((inv) => {
            const tasks = inv.taskIds.map((id) => core.tasks.get(id) as TaskRecord);
            const ends = tasks.map((t) => t.endMs).filter((e): e is number => e !== null);
            return {
                InvocationId: inv.id,
                CommandId: inv.commandId,
                InvocationStatus: invocationStatus(tasks),
                InvocationTaskBasicInfoSet: tasks.map((t) => ({ InvocationTaskId: t.id, TaskStatus: t.status, InstanceId: t.instanceId })),
                Description: "",
                StartTime: isoTime(inv.createdMs),
                EndTime: ends.length === tasks.length ? isoTime(Math.max(...ends)) : null,
                CreatedTime: isoTime(inv.createdMs),
                UpdatedTime: isoTime(Math.max(inv.createdMs, ...tasks.map((t) => t.updatedMs))),
                Parameters: "{}",
                DefaultParameters: "{}",
                InstanceKind: "CVM",
                Username: inv.document.Username,
                InvocationSource: "USER",
                CommandContent: inv.document.Content,
                CommandType: inv.document.CommandType,
                Timeout: inv.document.Timeout,
                WorkingDirectory: inv.document.WorkingDirectory,
            };
        }),
    };
}

function agentJson(core: Core, i: InstanceRecord): Record<string, Json> {
    const online = core.agentOnline(i);
    if (online) {
        i.lastHeartbeatMs = Date.now();
    }
    return {
        InstanceId: i.id,
        Version: "1.1.9",
        LastHeartbeatTime: i.lastHeartbeatMs === null ? null : isoTime(i.lastHeartbeatMs),
        AgentStatus: online ? "Online" : "Offline",
        Environment: "Linux",
        SupportFeatures: ["CommandCancel"],
    };
}

const agentFilters: Record<string, (core: Core, i: InstanceRecord) => string> = {
    "instance-id": (_c, i) => i.id,
    "agent-status": (c, i) => (c.agentOnline(i) ? "Online" : "Offline"),
    "environment": () => "Linux",
};

function describeAutomationAgentStatus(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const ids = optStrings(p, "InstanceIds");
    const filters = optFilters(p, Object.keys(agentFilters), "InvalidParameterValue.InvalidFilter");
    if (ids && filters) {
        throw new ApiError("InvalidParameter.ConflictParameter", "InstanceIds and Filters cannot be specified at the same time.");
    }
    const { offset, limit } = page(p, 20, 100, "InvalidParameterValue.Range");
    const bad = (ids ?? []).filter((id) => !/^(ins|lhins)-[0-9a-z]{8}$/.test(id));
    if (bad.length > 0) {
        throw new ApiError("InvalidParameterValue.InvalidInstanceId", `Malformed instance id(s): ${bad.join(", ")}.`);
    }
    // Instances without an agent installed are not listed at all.
    let set = [...core.instances.values()].filter((i) => i.region === ctx.region && i.machine.consolePrefix() !== undefined
        && (!ids || ids.includes(i.id)));
    for (const f of filters ?? []) {
        set = set.filter((i) => f.values.includes(agentFilters[f.name](core, i)));
    }
    return { TotalCount: set.length, AutomationAgentSet: set.slice(offset, offset + limit).map((i) => agentJson(core, i)) };
}

export function tatService(core: Core): ServiceDef {
    return {
        version: "2020-10-28",
        actions: {
            RunCommand: {
                params: ["Content", "InstanceIds", "CommandName", "Description", "CommandType", "WorkingDirectory", "Timeout",
                    "SaveCommand", "EnableParameter", "DefaultParameters", "Parameters", "Tags", "Username",
                    "OutputCOSBucketUrl", "OutputCOSKeyPrefix"],
                run: (ctx, p) => runCommand(core, ctx, p),
            },
            DescribeInvocationTasks: {
                params: ["InvocationTaskIds", "Filters", "Limit", "Offset", "HideOutput"],
                run: (ctx, p) => describeInvocationTasks(core, ctx, p),
            },
            DescribeInvocations: {
                params: ["InvocationIds", "Filters", "Limit", "Offset"],
                run: (ctx, p) => describeInvocations(core, ctx, p),
            },
            DescribeAutomationAgentStatus: {
                params: ["InstanceIds", "Filters", "Limit", "Offset"],
                run: (ctx, p) => describeAutomationAgentStatus(core, ctx, p),
            },
        },
    };
}
