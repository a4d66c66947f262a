import * as fs from "fs/promises";
import * as path from "path";
import { run } from "../harness/exec";
import { powerOff, powerOn } from "./cvm";
import {
    ApiError, cstTime, isObject, Json, onlyKnown, optBool, optFilters, optString, optStrings, page, Params, reqString, reqStrings,
} from "./params";
import { CallContext, ServiceDef } from "./server";
import { Core, DiskRecord, SnapshotRecord, sleep } from "./state";

/**
 * CBS 2017-03-12: snapshots of an instance's system disk. A snapshot is a real copy of the disk
 * folder (a lab host's overlay upper layer: owners, modes, xattrs and overlay whiteouts kept), taken
 * when CreateSnapshot is answered; ApplySnapshot really puts that copy back.
 */

const day = 24 * 3600_000;

/** `cp -a` of a folder to a new path: owners, modes, times, xattrs and device nodes (overlay whiteouts) kept. */
async function copyTree(from: string, to: string): Promise<void> {
    const r = await run(["cp", "-a", "--reflink=auto", "--", from, to], { timeoutMs: 600_000 });
    if (r.code !== 0) {
        throw new Error(`copying ${from} to ${to} failed: ${r.stderr.trim()}`);
    }
}

function diskOf(core: Core, region: string, id: string): DiskRecord {
    const d = core.diskIn(region, id);
    if (!d) {
        throw new ApiError("InvalidDiskId.NotFound", `The disk ${id} does not exist in ${region}.`);
    }
    return d;
}

function snapshotOf(core: Core, region: string, id: string): SnapshotRecord {
    const s = core.snapshotIn(region, id);
    if (!s) {
        throw new ApiError("InvalidSnapshotId.NotFound", `The snapshot ${id} does not exist in ${region}.`);
    }
    return s;
}

function parseTags(p: Params): Array<{ Key: string; Value: string }> {
    const v = p.Tags;
    if (v === undefined || v === null) {
        return [];
    }
    if (!Array.isArray(v)) {
        throw new ApiError("InvalidParameter", "The parameter `Tags` must be an array of {Key, Value}.");
    }
    return v.map((t, n) => {
        if (!isObject(t)) {
            throw new ApiError("InvalidParameter", `The parameter \`Tags.${n}\` must be an object {Key, Value}.`);
        }
        onlyKnown(t, ["Key", "Value"], `Tags.${n}.`);
        return { Key: reqString(t, "Key"), Value: optString(t, "Value") ?? "" };
    });
}

async function createSnapshot(core: Core, ctx: CallContext, p: Params): Promise<Record<string, Json>> {
    const diskId = reqString(p, "DiskId");
    const name = optString(p, "SnapshotName") ?? "";
    const deadlineText = optString(p, "Deadline");
    const tags = parseTags(p);
    if (optString(p, "DiskBackupId") !== undefined) {
        throw new ApiError("InvalidParameterValue", "DiskBackupId: disk backups are not modelled by this emulator.");
    }
    let deadlineMs: number | null = null;
    if (deadlineText !== undefined) {
        deadlineMs = Date.parse(deadlineText);
        if (!/^\d{4}-\d{2}-\d{2}T/.test(deadlineText) || Number.isNaN(deadlineMs)) {
            throw new ApiError("InvalidParameterValue", `Deadline must be an ISO 8601 time such as 2022-01-08T09:47:55+00:00; got ${deadlineText}.`);
        }
        if (deadlineMs < Date.now() + day) {
            throw new ApiError("InvalidParameterValue", `Deadline must be at least one day from now; got ${deadlineText}.`);
        }
    }
    const disk = diskOf(core, ctx.region, diskId);
    if (!disk.snapshotAbility) {
        throw new ApiError("InvalidDisk.NotSupportSnapshot", `The disk ${diskId} does not support snapshots.`);
    }
    if (disk.rollbacking) {
        throw new ApiError("ResourceInUse.DiskRollbacking", `The disk ${diskId} is being rolled back.`);
    }
    if (disk.busy) {
        throw new ApiError("InvalidDisk.Busy", `The disk ${diskId} is busy; try again later.`);
    }
    core.expireSnapshots();
    const inRegion = [...core.snapshots.values()].filter((s) => s.region === ctx.region).length;
    if (inRegion >= core.snapshotQuota) {
        throw new ApiError("InsufficientSnapshotQuota", `The snapshot quota of ${core.snapshotQuota} in ${ctx.region} is used up.`);
    }
    const id = core.newId("snap");
    const instance = core.instances.get(disk.instanceId);
    if (!instance) {
        throw new Error(`disk ${diskId} has no instance`);
    }
    const dir = path.join(core.dataDir, id);
    // The point in time is now: the copy is taken before the call is answered.
    await copyTree(instance.machine.diskDir, dir);
    const createdMs = Date.now();
    core.snapshots.set(id, {
        id, region: ctx.region, zone: disk.zone, diskId, name, createdMs, readyMs: createdMs + core.latency.snapshotMs,
        deadlineMs, tags, dir, rollbacking: false,
    });
    return { SnapshotId: id };
}

function snapshotJson(core: Core, s: SnapshotRecord): Record<string, Json> {
    const { state, percent } = core.snapshotState(s);
    return {
        SnapshotId: s.id,
        Placement: { Zone: s.zone, ProjectId: 0 },
        DiskUsage: "SYSTEM_DISK",
        DiskId: s.diskId,
        DiskSize: core.disks.get(s.diskId)?.sizeGb ?? 50,
        SnapshotState: state,
        SnapshotName: s.name,
        Percent: percent,
        CreateTime: cstTime(s.createdMs),
        DeadlineTime: s.deadlineMs === null ? null : cstTime(s.deadlineMs),
        Encrypt: false,
        IsPermanent: s.deadlineMs === null,
        CopyingToRegions: [],
        CopyFromRemote: false,
        Images: [],
        ImageCount: 0,
        SnapshotType: "PRIVATE_SNAPSHOT",
        ShareReference: 0,
        TimeStartShare: null,
        Tags: s.tags.map((t) => ({ Key: t.Key, Value: t.Value })),
    };
}

const snapshotFilters: Record<string, (core: Core, s: SnapshotRecord) => string> = {
    "snapshot-id": (_c, s) => s.id,
    "snapshot-name": (_c, s) => s.name,
    "snapshot-state": (c, s) => c.snapshotState(s).state,
    "disk-id": (_c, s) => s.diskId,
    "disk-usage": () => "SYSTEM_DISK",
    "zone": (_c, s) => s.zone,
};

function describeSnapshots(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const ids = optStrings(p, "SnapshotIds");
    const filters = optFilters(p, Object.keys(snapshotFilters), "InvalidFilter");
    if (ids && filters) {
        throw new ApiError("InvalidParameter", "SnapshotIds and Filters cannot be specified at the same time.");
    }
    const { offset, limit } = page(p, 20, 100, "InvalidParameterValue.LimitExceeded");
    const order = optString(p, "Order") ?? "DESC";
    const orderField = optString(p, "OrderField") ?? "CREATE_TIME";
    if (!["ASC", "DESC"].includes(order) || !["CREATE_TIME", "DEADLINE"].includes(orderField)) {
        throw new ApiError("InvalidParameterValue", "Order must be ASC or DESC and OrderField CREATE_TIME or DEADLINE.");
    }
    core.expireSnapshots();
    let set = [...core.snapshots.values()].filter((s) => s.region === ctx.region && (!ids || ids.includes(s.id)));
    for (const f of filters ?? []) {
        set = set.filter((s) => f.values.includes(snapshotFilters[f.name](core, s)));
    }
    const key = (s: SnapshotRecord) => (orderField === "DEADLINE" ? s.deadlineMs ?? Infinity : s.createdMs);
    set.sort((a, b) => (order === "ASC" ? key(a) - key(b) : key(b) - key(a)));
    return { TotalCount: set.length, SnapshotSet: set.slice(offset, offset + limit).map((s) => snapshotJson(core, s)) };
}

async function deleteSnapshots(core: Core, ctx: CallContext, p: Params): Promise<Record<string, Json>> {
    const ids = reqStrings(p, "SnapshotIds");
    if (ids.length > 100) {
        throw new ApiError("InvalidParameterValue.LimitExceeded", `At most 100 SnapshotIds per request; got ${ids.length}.`);
    }
    // All or nothing: every snapshot is checked before any is deleted.
    const set = ids.map((id) => snapshotOf(core, ctx.region, id));
    for (const s of set) {
        const { state } = core.snapshotState(s);
        if (state === "CREATING") {
            throw new ApiError("ResourceUnavailable.SnapshotCreating", `The snapshot ${s.id} is still being created; it must be NORMAL.`);
        }
        if (state !== "NORMAL") {
            throw new ApiError("ResourceBusy", `The snapshot ${s.id} is ${state}; it must be NORMAL.`);
        }
    }
    for (const s of set) {
        core.snapshots.delete(s.id);
        await fs.rm(s.dir, { recursive: true, force: true });
    }
    return {};
}

/** Replaces the disk folder's content with the snapshot's copy. */
async function restoreDisk(diskDir: string, snapshotDir: string): Promise<void> {
    const old = `${diskDir}.before-rollback-${process.pid}-${Date.now()}`;
    await fs.rename(diskDir, old);
    try {
        await copyTree(snapshotDir, diskDir);
    } catch (e) {
        await fs.rm(diskDir, { recursive: true, force: true });
        await fs.rename(old, diskDir);
        throw e;
    }
    await fs.rm(old, { recursive: true, force: true });
}

function applySnapshot(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const snapshotId = reqString(p, "SnapshotId");
    const diskId = reqString(p, "DiskId");
    const autoStop = optBool(p, "AutoStopInstance") ?? false;
    const autoStart = optBool(p, "AutoStartInstance") ?? false;
    if (autoStart && !autoStop) {
        throw new ApiError("InvalidParameter", "AutoStartInstance can only be true when AutoStopInstance is true.");
    }
    const s = snapshotOf(core, ctx.region, snapshotId);
    const disk = diskOf(core, ctx.region, diskId);
    if (s.diskId !== disk.id) {
        throw new ApiError("InvalidParameterValue", `The snapshot ${s.id} is of disk ${s.diskId}; it can only be applied to that disk.`);
    }
    const { state } = core.snapshotState(s);
    if (state === "CREATING") {
        throw new ApiError("ResourceUnavailable.SnapshotCreating", `The snapshot ${s.id} is still being created; it must be NORMAL.`);
    }
    if (disk.rollbacking || state === "ROLLBACKING") {
        throw new ApiError("ResourceInUse.DiskRollbacking", `The disk ${disk.id} is already being rolled back.`);
    }
    if (disk.busy) {
        throw new ApiError("InvalidDisk.Busy", `The disk ${disk.id} is busy; try again later.`);
    }
    const instance = core.instances.get(disk.instanceId);
    if (!instance) {
        throw new Error(`disk ${disk.id} has no instance`);
    }
    // A system disk is rolled back only while its instance is off.
    if (instance.state !== "STOPPED" && !(autoStop && instance.state === "RUNNING")) {
        throw new ApiError("UnsupportedOperation.InstanceNotStopped",
            `The instance ${instance.id} is ${instance.state}: a system disk can only be rolled back with the instance STOPPED (or AutoStopInstance=true).`);
    }
    disk.rollbacking = true;
    disk.rollbackStartMs = Date.now();
    s.rollbacking = true;
    instance.latestOperation = "ApplySnapshot";
    instance.latestOperationState = "OPERATING";
    instance.latestOperationRequestId = ctx.requestId;
    core.background(async () => {
        try {
            if (instance.state === "RUNNING") {
                await powerOff(core, instance, true);
            }
            const started = Date.now();
            await restoreDisk(instance.machine.diskDir, s.dir);
            await sleep(core.latency.rollbackMs - (Date.now() - started));
        } finally {
            disk.rollbacking = false;
            s.rollbacking = false;
        }
        instance.latestOperationState = "SUCCESS";
        if (autoStart && instance.state === "STOPPED") {
            await powerOn(core, instance);
        }
    });
    return {};
}

function diskJson(core: Core, d: DiskRecord): Record<string, Json> {
    const span = Math.max(1, core.latency.rollbackMs);
    return {
        DiskId: d.id,
        DiskUsage: "SYSTEM_DISK",
        DiskChargeType: "POSTPAID_BY_HOUR",
        Portable: false,
        Placement: { Zone: d.zone, ProjectId: 0 },
        SnapshotAbility: d.snapshotAbility,
        DiskName: `${d.instanceId}-system`,
        DiskSize: d.sizeGb,
        DiskState: "ATTACHED",
        DiskType: "CLOUD_PREMIUM",
        Attached: true,
        InstanceId: d.instanceId,
        InstanceType: "CVM",
        CreateTime: cstTime(d.createdMs),
        Encrypt: false,
        Rollbacking: d.rollbacking,
        RollbackPercent: d.rollbacking ? Math.min(99, Math.floor(((Date.now() - d.rollbackStartMs) / span) * 100)) : 100,
        SnapshotCount: [...core.snapshots.values()].filter((s) => s.diskId === d.id).length,
        Tags: [],
    };
}

const diskFilters: Record<string, (d: DiskRecord) => string> = {
    "disk-id": (d) => d.id,
    "instance-id": (d) => d.instanceId,
    "disk-usage": () => "SYSTEM_DISK",
    "zone": (d) => d.zone,
};

function describeDisks(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const ids = optStrings(p, "DiskIds");
    const filters = optFilters(p, Object.keys(diskFilters), "InvalidFilter");
    if (ids && filters) {
        throw new ApiError("InvalidParameter", "DiskIds and Filters cannot be specified at the same time.");
    }
    const { offset, limit } = page(p, 20, 100, "InvalidParameterValue.LimitExceeded");
    let set = [...core.disks.values()].filter((d) => d.region === ctx.region && (!ids || ids.includes(d.id)));
    for (const f of filters ?? []) {
        set = set.filter((d) => f.values.includes(diskFilters[f.name](d)));
    }
    return { TotalCount: set.length, DiskSet: set.slice(offset, offset + limit).map((d) => diskJson(core, d)) };
}

export function cbsService(core: Core): ServiceDef {
    return {
        version: "2017-03-12",
        actions: {
            CreateSnapshot: { params: ["DiskId", "SnapshotName", "Deadline", "DiskBackupId", "Tags"], run: (ctx, p) => createSnapshot(core, ctx, p) },
            DescribeSnapshots: {
                params: ["SnapshotIds", "Filters", "Offset", "Limit", "Order", "OrderField"],
                run: (ctx, p) => describeSnapshots(core, ctx, p),
            },
            DeleteSnapshots: { params: ["SnapshotIds", "DeleteBindImages"], run: (ctx, p) => deleteSnapshots(core, ctx, p) },
            ApplySnapshot: {
                params: ["SnapshotId", "DiskId", "AutoStopInstance", "AutoStartInstance"],
                run: (ctx, p) => applySnapshot(core, ctx, p),
            },
            DescribeDisks: {
                params: ["DiskIds", "Filters", "Offset", "Limit", "Order", "OrderField", "ReturnBindAutoSnapshotPolicy"],
                run: (ctx, p) => describeDisks(core, ctx, p),
            },
        },
    };
}
