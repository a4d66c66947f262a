import type { TencentSettings } from "./settings";
import { call, hasCode, isTencentApiError, withHint } from "./api";
import { delay, describeInstance, InstanceInfo, startInstance, stopInstance, WaitOptions } from "./cvm";

/** An instance with its system disk's id spelled out: what a snapshot of it needs. */
export interface SystemDisk extends InstanceInfo {
    readonly diskId: string;
}

/**
 * The instance's system disk (DescribeInstances → SystemDisk.DiskId), with its addresses,
 * security groups and state.
 */
export async function systemDiskOf(settings: TencentSettings, instanceId: string): Promise<SystemDisk> {
    const i = await describeInstance(settings, instanceId);
    return { ...i, diskId: i.systemDisk.diskId };
}

/** The kinds of CreateSnapshot failure an operator acts on, by the API's codes. */
export const snapshotFailures = {
    quota: {
        codes: ["InsufficientSnapshotQuota", "ResourceInsufficient.OverQuota"],
        hint: "The snapshot quota of the account or region is used up: delete snapshots that are no longer needed "
            + "(DeleteSnapshots; sshremedy's carry the tags stack and host and expire on their own) or ask for a larger quota, then run again",
    },
    busy: {
        codes: ["InvalidDisk.Busy", "ResourceBusy", "InvalidDisk.SnapshotCreating", "ResourceInUse.DiskRollbacking",
            "ResourceUnavailable.TooManyCreatingSnapshot"],
        hint: "The disk is busy (a snapshot being created, a rollback, or too many snapshots in progress): wait until "
            + "DescribeSnapshots shows the disk's snapshots NORMAL, then run again",
    },
    unsupported: {
        codes: ["InvalidDisk.NotSupportSnapshot", "InvalidDisk.NotSupported"],
        hint: "This disk cannot be snapshotted (a local disk, or a type or state without snapshots): use a cloud disk, "
            + "or run without a cloud snapshot",
    },
    notFound: {
        codes: ["InvalidDiskId.NotFound"],
        hint: "There is no such disk in this region: check the disk id (DescribeInstances → SystemDisk.DiskId) and tencentcloud:region",
    },
} as const;

export type SnapshotFailure = keyof typeof snapshotFailures;

/** Which kind of snapshot failure an error is, if any. */
export function snapshotFailureOf(e: unknown): SnapshotFailure | undefined {
    for (const [kind, f] of Object.entries(snapshotFailures) as [SnapshotFailure, { codes: readonly string[] }][]) {
        if (isTencentApiError(e) && e.code !== undefined && f.codes.includes(e.code)) return kind;
    }
    return undefined;
}

export interface CreateSnapshotArgs {
    readonly diskId: string;
    readonly name: string;
    /** Tags on the snapshot, e.g. `{ stack, host }`: how an operator finds sshremedy's snapshots. */
    readonly tags?: Readonly<Record<string, string>>;
    /** Days until the API deletes the snapshot by itself (its `Deadline`). At least 1; default 7. */
    readonly retentionDays?: number;
}

/**
 * `Deadline` for a snapshot kept `days` days from `now`: ISO-8601 UTC to the second, a minute
 * over and rounded up, so a one-day retention still meets the API's "at least one day from now"
 * when the request arrives. Pure.
 */
export function snapshotDeadline(now: Date, days: number): string {
    if (!Number.isFinite(days) || days < 1) {
        throw new Error(`snapshot retentionDays must be at least 1 (the API's minimum), got ${days}`);
    }
    const ms = Math.ceil((now.getTime() + Math.round(days * 86_400_000) + 60_000) / 1000) * 1000;
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * CreateSnapshot of a disk; resolves to the new snapshot's id (`snap-…`), which is CREATING
 * until `waitSnapshot` sees it NORMAL. Quota, busy, unsupported and unknown-disk failures carry
 * the API's code and a hint for the operator (`snapshotFailures`).
 */
export async function createSnapshot(settings: TencentSettings, args: CreateSnapshotArgs): Promise<string> {
    const deadline = snapshotDeadline(new Date(), args.retentionDays ?? 7);
    const tags = Object.entries(args.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    try {
        const r = await call<{ SnapshotId: string }>(settings, "cbs", "CreateSnapshot", {
            DiskId: args.diskId,
            SnapshotName: args.name,
            Deadline: deadline,
            ...(tags.length > 0 ? { Tags: tags } : {}),
        });
        return r.SnapshotId;
    } catch (e) {
        const kind = snapshotFailureOf(e);
        if (kind !== undefined && isTencentApiError(e)) throw withHint(e, `${snapshotFailures[kind].hint} (disk ${args.diskId})`);
        throw e;
    }
}

export interface SnapshotInfo {
    readonly snapshotId: string;
    readonly diskId?: string;
    /** NORMAL, CREATING, ROLLBACKING, COPYING_FROM_REMOTE, CHECKING_COPIED, TORECYCLE. */
    readonly state: string;
    readonly percent: number;
    readonly name?: string;
    readonly createTime?: string;
    readonly deadlineTime?: string;
}

/** DescribeSnapshots for one id; `undefined` when the API does not list it. */
export async function describeSnapshot(settings: TencentSettings, snapshotId: string): Promise<SnapshotInfo | undefined> {
    let r: { SnapshotSet?: Record<string, unknown>[] };
    try {
        r = await call(settings, "cbs", "DescribeSnapshots", { SnapshotIds: [snapshotId] });
    } catch (e) {
        if (hasCode(e, "InvalidSnapshotId.NotFound")) return undefined;
        throw e;
    }
    const s = (r.SnapshotSet ?? []).find((x) => x.SnapshotId === snapshotId);
    return s ? snapshotInfoOf(s) : undefined;
}

/** Every snapshot of one disk, newest first (DescribeSnapshots by disk-id, a page of 100 at a time). */
export async function snapshotsOfDisk(settings: TencentSettings, diskId: string): Promise<SnapshotInfo[]> {
    const out: SnapshotInfo[] = [];
    for (let offset = 0; ; offset += 100) {
        const r = await call<{ SnapshotSet?: Record<string, unknown>[]; TotalCount?: number }>(settings, "cbs", "DescribeSnapshots",
            { Filters: [{ Name: "disk-id", Values: [diskId] }], Offset: offset, Limit: 100, Order: "DESC", OrderField: "CREATE_TIME" });
        const page = r.SnapshotSet ?? [];
        out.push(...page.map(snapshotInfoOf));
        if (page.length < 100 || out.length >= (r.TotalCount ?? 0)) return out;
    }
}

function snapshotInfoOf(s: Record<string, unknown>): SnapshotInfo {
    const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    const info: SnapshotInfo = {
        snapshotId: String(s.SnapshotId),
        state: str(s.SnapshotState) ?? "UNKNOWN",
        percent: typeof s.Percent === "number" ? s.Percent : Number(s.Percent ?? 0),
        ...(str(s.DiskId) ? { diskId: str(s.DiskId) } : {}),
        ...(str(s.SnapshotName) ? { name: str(s.SnapshotName) } : {}),
        ...(str(s.CreateTime) ? { createTime: str(s.CreateTime) } : {}),
        ...(str(s.DeadlineTime) ? { deadlineTime: str(s.DeadlineTime) } : {}),
    };
    return info;
}

export interface PollOptions {
    /**
     * Fixed interval between polls. Default: 2 s, growing by half each poll up to 15 s (a snapshot
     * takes from seconds to hours; the API counts every call).
     */
    readonly pollMs?: number;
}

/**
 * Polls DescribeSnapshots until the snapshot is NORMAL and resolves to it; `onProgress` hears
 * every change of `Percent` or state. Fails when the snapshot disappears or is TORECYCLE (expired,
 * being deleted), or at the timeout (default 30 minutes) with the last state and percent.
 */
export async function waitSnapshot(
    settings: TencentSettings,
    snapshotId: string,
    onProgress?: (percent: number, state: string) => void,
    timeoutMs = 1_800_000,
    opts: PollOptions = {},
): Promise<SnapshotInfo> {
    const deadline = Date.now() + timeoutMs;
    let interval = opts.pollMs ?? 2000;
    let last: SnapshotInfo | undefined;
    for (;;) {
        const s = await describeSnapshot(settings, snapshotId);
        if (s === undefined) {
            throw new Error(`Tencent Cloud snapshot ${snapshotId} is not listed by DescribeSnapshots in ${settings.region}: `
                + "it was deleted, or the id or region is wrong");
        }
        if (onProgress && (last === undefined || last.percent !== s.percent || last.state !== s.state)) {
            onProgress(s.percent, s.state);
        }
        last = s;
        if (s.state === "NORMAL") return s;
        // Any other state (CREATING, COPYING_FROM_REMOTE, CHECKING_COPIED, ROLLBACKING, one this code
        // does not know) is waited out; the timeout reports it.
        if (s.state === "TORECYCLE") {
            throw new Error(`Tencent Cloud snapshot ${snapshotId} is TORECYCLE (expired or being deleted); it cannot be used`);
        }
        if (Date.now() >= deadline) {
            throw new Error(`Tencent Cloud snapshot ${snapshotId} is still ${s.state} at ${s.percent}% after `
                + `${Math.round(timeoutMs / 1000)} s; it may still complete (DescribeSnapshots shows it)`);
        }
        await delay(Math.min(interval, Math.max(0, deadline - Date.now())));
        if (opts.pollMs === undefined) interval = Math.min(15_000, Math.round(interval * 1.5));
    }
}

export interface RollbackArgs {
    readonly instanceId: string;
    readonly diskId: string;
    readonly snapshotId: string;
    /** Timeout of each wait (instance stopped, rollback done, instance running). Default 10 minutes. */
    readonly timeoutMs?: number;
    /** Fixed poll interval for the waits. */
    readonly pollMs?: number;
}

/**
 * Puts a disk back to a snapshot: waits for the snapshot to be NORMAL, stops the instance
 * (StopInstances, until STOPPED), ApplySnapshot, waits until the rollback is done (DescribeDisks
 * and DescribeSnapshots), and starts the
 * instance (StartInstances, until RUNNING). If anything fails once the instance is stopped, it is
 * started again before the error is thrown, so a failed rollback does not leave it down.
 */
export async function rollbackDisk(settings: TencentSettings, args: RollbackArgs): Promise<void> {
    const wait: WaitOptions = { timeoutMs: args.timeoutMs ?? 600_000, ...(args.pollMs !== undefined ? { pollMs: args.pollMs } : {}) };
    const poll: PollOptions = args.pollMs !== undefined ? { pollMs: args.pollMs } : {};
    const snap = await waitSnapshot(settings, args.snapshotId, undefined, wait.timeoutMs, poll);
    if (snap.diskId !== undefined && snap.diskId !== args.diskId) {
        throw new Error(`Tencent Cloud snapshot ${args.snapshotId} is of disk ${snap.diskId}, not ${args.diskId}`);
    }
    await stopInstance(settings, args.instanceId, wait);
    try {
        try {
            await call(settings, "cbs", "ApplySnapshot", { SnapshotId: args.snapshotId, DiskId: args.diskId });
        } catch (e) {
            if (hasCode(e, "UnsupportedOperation.InstanceNotStopped")) {
                throw withHint(e, `instance ${args.instanceId} must be STOPPED for its system disk to be rolled back`);
            }
            throw e;
        }
        await waitRollback(settings, args.diskId, args.snapshotId, wait.timeoutMs!, poll);
    } catch (e) {
        try {
            await startInstance(settings, args.instanceId, wait);
        } catch (again) {
            throw new Error(`${(e as Error).message}; and starting instance ${args.instanceId} again failed too: `
                + `${(again as Error).message}`);
        }
        throw e;
    }
    await startInstance(settings, args.instanceId, wait);
}

/**
 * Waits until the rollback is over: the disk no longer `Rollbacking` (DescribeDisks) and the
 * snapshot NORMAL again. Both are asked: either may still show the state from before the
 * ApplySnapshot for a moment.
 */
async function waitRollback(settings: TencentSettings, diskId: string, snapshotId: string, timeoutMs: number, opts: PollOptions): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let interval = opts.pollMs ?? 2000;
    for (;;) {
        const d = await call<{ DiskSet?: { DiskId: string; Rollbacking?: boolean; RollbackPercent?: number }[] }>(
            settings, "cbs", "DescribeDisks", { DiskIds: [diskId] });
        const disk = (d.DiskSet ?? []).find((x) => x.DiskId === diskId);
        if (!disk) throw new Error(`Tencent Cloud disk ${diskId} disappeared during the rollback`);
        const s = await describeSnapshot(settings, snapshotId);
        if (s === undefined) throw new Error(`Tencent Cloud snapshot ${snapshotId} disappeared during the rollback`);
        if (disk.Rollbacking !== true && s.state === "NORMAL") return;
        if (Date.now() >= deadline) {
            throw new Error(`Tencent Cloud rollback of ${diskId} to ${snapshotId}: still rolling back `
                + `(${disk.RollbackPercent ?? "?"}%, snapshot ${s.state}) after ${Math.round(timeoutMs / 1000)} s`);
        }
        await delay(interval);
        if (opts.pollMs === undefined) interval = Math.min(10_000, Math.round(interval * 1.5));
    }
}
