import * as crypto from "crypto";
import * as os from "os";
import { composePhase, parseKeyValues } from "../core/compose";
import { CommandTarget, describeTarget, runScript } from "../core/transport";
import { snapshotsOfDisk, systemDiskOf } from "../tencent/cbs";
import { attemptLogin, DiagnoseLogin } from "./diagnose";
import { classifyLogin } from "./symptoms";

/** `sshremedy snapshots` and `sshremedy restore`: what the pipeline keeps on a host, and putting one back. */

export const snapshotDir = "/var/lib/sshremedy/snapshots";

export interface HostSnapshot {
    readonly id: string;
    readonly seq: number;
    /** Seconds since the epoch, by the host's clock. */
    readonly created: number;
    /** The run that took it (stack.host.nonce), when the snapshot recorded one. */
    readonly run?: string;
    /** What it holds: `<kind> <path>` (file, dir, link, or absent: the restore removes it). */
    readonly paths: readonly string[];
}

export interface DiskSnapshot {
    readonly id: string;
    readonly created: string;
    readonly state: string;
    readonly name: string;
}

export interface SnapshotList {
    readonly host: readonly HostSnapshot[];
    /** CBS snapshots of a Tencent Cloud instance's system disk (empty for other hosts). */
    readonly disk: readonly DiskSnapshot[];
}

/** Parses snapshots.sh's output; newest first. */
export function parseSnapshots(stdout: string): HostSnapshot[] {
    const out: { id: string; seq: number; created: number; run?: string; paths: string[] }[] = [];
    for (const [k, v] of parseKeyValues(stdout)) {
        if (k === "snapshot") out.push({ id: v, seq: 0, created: 0, paths: [] });
        const cur = out[out.length - 1];
        if (!cur) continue;
        if (k === "seq") cur.seq = Number(v);
        if (k === "created") cur.created = Number(v);
        if (k === "run") cur.run = v;
        if (k === "entry") cur.paths.push(v);
    }
    return out.sort((a, b) => b.seq - a.seq);
}

export async function listSnapshots(target: CommandTarget): Promise<SnapshotList> {
    const r = await runScript(target, composePhase([{ script: "host/snapshots" }]));
    if (r.code !== 0) {
        throw new Error(`listing snapshots through ${describeTarget(target)} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
    let disk: DiskSnapshot[] = [];
    if (target.kind === "tat") {
        const d = await systemDiskOf(target.settings, target.instanceId);
        disk = (await snapshotsOfDisk(target.settings, d.diskId)).map((s) => ({
            id: s.snapshotId, created: s.createTime ?? "", state: s.state, name: s.name ?? "",
        }));
    }
    return { host: parseSnapshots(r.stdout), disk };
}

/**
 * Puts snapshot `id` back with the dead-man's own restore script, holding the host's lock so no
 * run changes the host meanwhile; then, given the login, proves it with a fresh SSH login.
 */
export function checkSnapshotId(id: string): void {
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(id)) {
        throw new Error(`'${id}' is not a snapshot id (letters, digits, . _ -, as sshremedy snapshots lists them)`);
    }
}

export async function restoreSnapshot(target: CommandTarget, id: string, login?: DiagnoseLogin): Promise<{ report: string; loginWorks?: boolean }> {
    checkSnapshotId(id);
    const owner = `cli.${os.hostname().replace(/[^A-Za-z0-9._-]/g, "-")}.${crypto.randomBytes(6).toString("hex")}`;
    const lock = (action: "acquire" | "release") => ({
        script: "host/lock", env: { SR_LOCK_ACTION: action, SR_LOCK_OWNER: owner, ...(action === "acquire" ? { SR_LOCK_WAIT: 60, SR_LOCK_LEASE: 300 } : {}) },
    });
    const r = await runScript(target, composePhase([lock("acquire"), { script: "host/restore", env: { SR_SNAPSHOT: `${snapshotDir}/${id}` } }, lock("release")]));
    if (r.code !== 0) {
        // The lock is let go whatever happened (a restore that failed half way leaves it otherwise).
        await runScript(target, composePhase([lock("release")]));
        throw new Error(`restoring ${id} through ${describeTarget(target)} failed: ${r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`}`);
    }
    const kv = parseKeyValues(r.stdout);
    const lines = [`restored ${id}: ${kv.filter(([k]) => k === "restored" || k === "removed").map(([k, v]) => `${k === "removed" ? "removed " : ""}${v}`).join(", ") || "nothing to put back"}; sshd restarted`];
    if (!login) return { report: lines.join("\n") };
    const attempt = classifyLogin(await attemptLogin(login), login.user);
    lines.push(attempt.ok ? `login works: ${login.user}@${login.address}` : `login fails: ${login.user}@${login.address}: ${attempt.message}`);
    return { report: lines.join("\n"), loginWorks: attempt.ok };
}
