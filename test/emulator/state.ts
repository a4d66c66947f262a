import { randomBytes, randomUUID } from "crypto";
import { rm } from "fs/promises";
import { Machine } from "./machine";
import { ApiError } from "./params";

/** Everything that takes time in the emulated cloud, in milliseconds. */
export interface Latencies {
    /** Added to every API call before it is answered. */
    apiMs: number;
    /** Shortest time an instance spends in STOPPING (on top of the real power-off). */
    stopMs: number;
    /** Shortest time an instance spends in STARTING (on top of the real boot). */
    startMs: number;
    /** How long a snapshot stays CREATING (Percent rises linearly meanwhile). */
    snapshotMs: number;
    /** Shortest time a rollback (ApplySnapshot) keeps the snapshot ROLLBACKING. */
    rollbackMs: number;
    /** How long a TAT task stays PENDING before the agent picks it up. */
    taskDeliveryMs: number;
    /** After a boot, how long the TAT agent takes to report Online once the guest has booted. */
    agentStartMs: number;
}

export const defaultLatencies: Latencies = {
    apiMs: 0,
    stopMs: 300,
    startMs: 300,
    snapshotMs: 3_000,
    rollbackMs: 1_000,
    taskDeliveryMs: 300,
    agentStartMs: 500,
};

export type InstanceState = "PENDING" | "RUNNING" | "STOPPING" | "STOPPED" | "STARTING"
    | "ENTER_RESCUE_MODE" | "RESCUE_MODE" | "EXIT_RESCUE_MODE";

export interface InstanceRecord {
    readonly id: string;
    readonly region: string;
    readonly zone: string;
    readonly name: string;
    readonly machine: Machine;
    readonly diskId: string;
    readonly securityGroupIds: string[];
    readonly publicIp: string | null;
    readonly vpcId: string;
    readonly subnetId: string;
    readonly uuid: string;
    readonly createdMs: number;
    state: InstanceState;
    latestOperation: string | null;
    latestOperationState: "OPERATING" | "SUCCESS" | "FAILED" | null;
    latestOperationRequestId: string | null;
    /** The switch a test flips: is the TAT agent running (when the instance is)? */
    agentEnabled: boolean;
    /** True once the guest has booted and the agent reports (false while stopped or booting). */
    agentUp: boolean;
    lastHeartbeatMs: number | null;
}

export interface DiskRecord {
    readonly id: string;
    readonly region: string;
    readonly zone: string;
    readonly instanceId: string;
    readonly sizeGb: number;
    readonly createdMs: number;
    /** Switches a test flips. */
    busy: boolean;
    snapshotAbility: boolean;
    rollbacking: boolean;
    rollbackStartMs: number;
}

export interface SnapshotRecord {
    readonly id: string;
    readonly region: string;
    readonly zone: string;
    readonly diskId: string;
    readonly name: string;
    readonly createdMs: number;
    /** When CREATING ends. */
    readonly readyMs: number;
    readonly deadlineMs: number | null;
    readonly tags: ReadonlyArray<{ Key: string; Value: string }>;
    /** The copy of the disk, taken when the snapshot was created. */
    readonly dir: string;
    rollbacking: boolean;
}

export type Direction = "Ingress" | "Egress";

export interface Policy {
    Protocol: string;
    Port: string;
    CidrBlock: string;
    Action: "ACCEPT" | "DROP";
    PolicyDescription: string;
    ModifyTime: string;
}

export interface SecurityGroupRecord {
    readonly id: string;
    readonly region: string;
    version: number;
    readonly Ingress: Policy[];
    readonly Egress: Policy[];
}

export type TaskStatus = "PENDING" | "RUNNING" | "SUCCESS" | "FAILED" | "TIMEOUT" | "START_FAILED" | "DELIVER_FAILED";

export interface CommandDocument {
    readonly Content: string;
    readonly CommandType: string;
    readonly Timeout: number;
    readonly WorkingDirectory: string;
    readonly Username: string;
}

export interface TaskRecord {
    readonly id: string;
    readonly invocationId: string;
    readonly commandId: string;
    readonly instanceId: string;
    readonly createdMs: number;
    status: TaskStatus;
    exitCode: number;
    /** At most the first 24 KB of combined stdout and stderr. */
    output: Buffer;
    dropped: number;
    errorInfo: string;
    startMs: number | null;
    endMs: number | null;
    updatedMs: number;
}

export interface InvocationRecord {
    readonly id: string;
    readonly commandId: string;
    readonly region: string;
    readonly createdMs: number;
    readonly document: CommandDocument;
    readonly taskIds: readonly string[];
}

export const terminalTaskStates: readonly TaskStatus[] = ["SUCCESS", "FAILED", "TIMEOUT", "START_FAILED", "DELIVER_FAILED"];

/** The emulated account: every resource, the switches and the background jobs. */
export class Core {
    readonly instances = new Map<string, InstanceRecord>();
    readonly disks = new Map<string, DiskRecord>();
    readonly snapshots = new Map<string, SnapshotRecord>();
    readonly groups = new Map<string, SecurityGroupRecord>();
    readonly invocations = new Map<string, InvocationRecord>();
    readonly tasks = new Map<string, TaskRecord>();
    /** Errors of background jobs (a failed power-off, a failed copy): tests can assert there are none. */
    readonly internalErrors: Error[] = [];
    private readonly jobs = new Set<Promise<void>>();
    closed = false;

    constructor(
        readonly latency: Latencies,
        readonly dataDir: string,
        public snapshotQuota: number,
        public policyLimit: number,
        /** Called after every security-group change; resolves once the change is enforced. */
        readonly enforce: () => Promise<void>,
    ) {}

    /** An id like the service's: `<prefix>-` and 8 characters of [0-9a-z], unused so far. */
    newId(prefix: string): string {
        const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
        for (;;) {
            const id = `${prefix}-${Array.from(randomBytes(8), (b) => alphabet[b % 36]).join("")}`;
            if (!this.instances.has(id) && !this.disks.has(id) && !this.snapshots.has(id) && !this.groups.has(id)
                && !this.invocations.has(id) && !this.tasks.has(id)) {
                return id;
            }
        }
    }

    newUuid(): string {
        return randomUUID();
    }

    /** Runs a job in the background; its failure is recorded, never thrown at a caller. */
    background(job: () => Promise<void>): void {
        const p = job().catch((e: unknown) => {
            this.internalErrors.push(e instanceof Error ? e : new Error(String(e)));
        }).finally(() => this.jobs.delete(p));
        this.jobs.add(p);
    }

    async settle(): Promise<void> {
        while (this.jobs.size > 0) {
            await Promise.all([...this.jobs]);
        }
    }

    instanceIn(region: string, id: string): InstanceRecord | undefined {
        const i = this.instances.get(id);
        return i && i.region === region ? i : undefined;
    }

    diskIn(region: string, id: string): DiskRecord | undefined {
        const d = this.disks.get(id);
        return d && d.region === region ? d : undefined;
    }

    snapshotIn(region: string, id: string): SnapshotRecord | undefined {
        this.expireSnapshots();
        const s = this.snapshots.get(id);
        return s && s.region === region ? s : undefined;
    }

    groupIn(region: string, id: string): SecurityGroupRecord | undefined {
        const g = this.groups.get(id);
        return g && g.region === region ? g : undefined;
    }

    /** Snapshots whose Deadline has passed are gone, as on the service. */
    expireSnapshots(): void {
        const now = Date.now();
        for (const s of this.snapshots.values()) {
            if (s.deadlineMs !== null && s.deadlineMs <= now && !s.rollbacking) {
                this.snapshots.delete(s.id);
                this.background(() => rm(s.dir, { recursive: true, force: true }));
            }
        }
    }

    snapshotState(s: SnapshotRecord): { state: "CREATING" | "NORMAL" | "ROLLBACKING"; percent: number } {
        if (s.rollbacking) {
            return { state: "ROLLBACKING", percent: 100 };
        }
        const now = Date.now();
        if (now < s.readyMs) {
            const span = Math.max(1, s.readyMs - s.createdMs);
            return { state: "CREATING", percent: Math.min(99, Math.floor(((now - s.createdMs) / span) * 100)) };
        }
        return { state: "NORMAL", percent: 100 };
    }

    agentOnline(i: InstanceRecord): boolean {
        return i.agentEnabled && i.agentUp && i.state === "RUNNING" && i.machine.consolePrefix() !== undefined;
    }

    /** Throws the CVM error for an instance that is not in one of `allowed`. */
    requireState(i: InstanceRecord, allowed: readonly InstanceState[]): void {
        if (!allowed.includes(i.state)) {
            // RESCUE_MODE: UnsupportedOperation.InstanceStateRescueMode, as the service spells it.
            const word = i.state.split("_").map((w) => w.charAt(0) + w.slice(1).toLowerCase()).join("");
            throw new ApiError(`UnsupportedOperation.InstanceState${word}`,
                `The instance ${i.id} is ${i.state}; this operation needs ${allowed.join(" or ")}.`);
        }
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
