import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { TestHost } from "../harness/lab";
import { cbsService } from "./cbs";
import { commonClient, EmulatorEndpoint, pinnedAgent, ServiceName, testDomain } from "./client";
import { cvmService } from "./cvm";
import { Firewall } from "./firewall";
import { DetachedMachine, LabMachine, Machine } from "./machine";
import { ApiError } from "./params";
import { ApiServer, CallRecord } from "./server";
import { Core, defaultLatencies, Direction, InstanceRecord, InstanceState, Latencies, Policy, SecurityGroupRecord } from "./state";
import { tatService } from "./tat";
import { insertPolicies, normalisePolicy, PolicyInput, removePolicies, vpcService } from "./vpc";

/**
 * An emulator of the Tencent Cloud API (CVM, CBS, TAT, VPC security groups) for the official
 * Node SDK, on loopback HTTP. Its instances are the lab's test hosts: StopInstances really powers
 * a host off, a snapshot is a real copy of its disk, TAT runs commands inside it, and security
 * groups are enforced on its link. README.md beside this file lists what is modelled and how.
 */

export { commonClient, pinnedAgent, testDomain } from "./client";
export type { EmulatorEndpoint, ServiceName } from "./client";
export { DetachedMachine } from "./machine";
export type { Machine } from "./machine";
export type { Latencies } from "./state";
export type { PolicyInput } from "./vpc";
export type { CallRecord } from "./server";

export interface Credential {
    readonly secretId: string;
    readonly secretKey: string;
    /** Set for a temporary credential: requests must carry it as X-TC-Token. */
    readonly token?: string;
}

export interface EmulatorOptions {
    /** Accepted credentials; by default one fresh pair (see `credential`). */
    readonly credentials?: readonly Credential[];
    /** The region instances land in unless addInstance says otherwise. Default ap-guangzhou. */
    readonly region?: string;
    readonly latency?: Partial<Latencies>;
    /** Calls per second and action before RequestLimitExceeded (the service's default: 20). */
    readonly rateLimitPerSecond?: number;
    /** Enforce security groups with nftables (needs root). Default true. */
    readonly firewall?: boolean;
    /** Where snapshots are kept. Default: a fresh folder under /var/lib/sshremedy-lab. */
    readonly dataDir?: string;
    /** Snapshots allowed per region before InsufficientSnapshotQuota. Default 64. */
    readonly snapshotQuota?: number;
    /** Policies allowed per direction of a security group before LimitExceeded.SecurityGroupPolicySet. Default 100. */
    readonly policyLimit?: number;
}

export interface AddInstanceOptions {
    readonly instanceId?: string;
    readonly region?: string;
    readonly zone?: string;
    readonly name?: string;
    /** The public address: the host's own address by default; null for an instance without one. */
    readonly publicIp?: string | null;
    /** Join this security group (created if new) instead of a fresh one. */
    readonly securityGroupId?: string;
    /** The new group's Ingress; default: ACCEPT TCP 22 from 0.0.0.0/0. */
    readonly ingress?: readonly PolicyInput[];
    /** The new group's Egress; default: ACCEPT ALL to 0.0.0.0/0. */
    readonly egress?: readonly PolicyInput[];
    /** Is the TAT agent running? Default true. */
    readonly agentOnline?: boolean;
}

export interface InstanceInfo {
    readonly instanceId: string;
    readonly diskId: string;
    readonly securityGroupId: string;
    readonly region: string;
    readonly zone: string;
    readonly address: string;
}

const knownRegions = ["ap-guangzhou", "ap-shanghai", "ap-nanjing", "ap-beijing", "ap-chengdu", "ap-chongqing", "ap-hongkong",
    "ap-singapore", "ap-jakarta", "ap-seoul", "ap-tokyo", "ap-bangkok", "ap-mumbai", "na-siliconvalley", "na-ashburn",
    "na-toronto", "sa-saopaulo", "eu-frankfurt"];

let serial = 0;
const dataRoot = "/var/lib/sshremedy-lab";
const dataPrefix = "tencent-emulator-";

/** Snapshot folders of emulators whose test process was killed before it could close them. */
function removeStaleDataDirs(): void {
    for (const entry of fs.existsSync(dataRoot) ? fs.readdirSync(dataRoot) : []) {
        const pid = new RegExp(`^${dataPrefix}(\\d+)-\\d+$`).exec(entry)?.[1];
        if (pid && !fs.existsSync(`/proc/${pid}`)) {
            try {
                fs.rmSync(path.join(dataRoot, entry), { recursive: true, force: true });
            } catch {
                /* not ours to remove (another user's run): left alone */
            }
        }
    }
}

export class TencentEmulator {
    /** The credential tests sign with (the first of `credentials`). */
    readonly credential: Credential;
    readonly region: string;
    private readonly core: Core;
    private readonly firewall: Firewall;
    private readonly server: ApiServer;
    private readonly credentials: Map<string, Credential>;
    private readonly regions: Set<string>;
    private readonly callLog: CallRecord[] = [];
    private clockSkewSeconds = 0;
    private rateLimit: number;
    private portNumber = 0;
    private readonly removeDataDir = () => {
        // A rescue system still running (a test that failed in rescue mode): killed, its disk detached.
        for (const i of this.core.instances.values()) {
            i.machine.abandonRescue();
        }
        fs.rmSync(this.core.dataDir, { recursive: true, force: true });
    };

    private constructor(opts: EmulatorOptions) {
        const creds = opts.credentials ?? [{ secretId: `AKID${randomBytes(16).toString("hex")}`, secretKey: randomBytes(20).toString("hex") }];
        if (creds.length === 0) {
            throw new Error("the emulator needs at least one credential");
        }
        this.credential = creds[0];
        this.credentials = new Map(creds.map((c) => [c.secretId, c]));
        this.region = opts.region ?? "ap-guangzhou";
        this.regions = new Set([...knownRegions, this.region]);
        this.rateLimit = opts.rateLimitPerSecond ?? 20;
        const n = ++serial;
        const dataDir = opts.dataDir ?? path.join(dataRoot, `${dataPrefix}${process.pid}-${n}`);
        this.core = new Core({ ...defaultLatencies, ...opts.latency }, dataDir, opts.snapshotQuota ?? 64, opts.policyLimit ?? 100,
            () => this.firewall.apply());
        this.firewall = new Firewall(this.core, opts.firewall ?? true, n);
        this.server = new ApiServer({
            services: { cvm: cvmService(this.core), cbs: cbsService(this.core), tat: tatService(this.core), vpc: vpcService(this.core) },
            secretKeyOf: (id) => this.credentials.get(id)?.secretKey,
            tokenOf: (id) => this.credentials.get(id)?.token,
            now: () => Math.floor(Date.now() / 1000) + this.clockSkewSeconds,
            regions: () => this.regions,
            rateLimit: () => this.rateLimit,
            apiLatencyMs: () => this.core.latency.apiMs,
            onCall: (c) => this.callLog.push(c),
            onInternalError: (e) => this.core.internalErrors.push(e),
        });
    }

    /** Starts an emulator on 127.0.0.1 at a free port. */
    static async start(opts: EmulatorOptions = {}): Promise<TencentEmulator> {
        const emu = new TencentEmulator(opts);
        if (opts.dataDir === undefined) {
            removeStaleDataDirs();
        }
        fs.mkdirSync(emu.core.dataDir, { recursive: true, mode: 0o700 });
        process.on("exit", emu.removeDataDir);
        if (emu.firewall.enabled) {
            await Firewall.removeStale();
        }
        emu.portNumber = await emu.server.listen("127.0.0.1", 0);
        return emu;
    }

    get port(): number {
        return this.portNumber;
    }

    /** The production code's endpoint setting that points it here. */
    get endpoint(): EmulatorEndpoint {
        return { domain: `${testDomain}:${this.portNumber}`, protocol: "http", address: "127.0.0.1" };
    }

    /** A CommonClient of the official SDK for `service`, signing with `credential` (or the given one). */
    client(service: ServiceName, opts: { region?: string; credential?: Credential } = {}) {
        const c = opts.credential ?? this.credential;
        return commonClient(this.endpoint, service, {
            secretId: c.secretId, secretKey: c.secretKey, token: c.token, region: opts.region ?? this.region, agent: pinnedAgent("127.0.0.1"),
        });
    }

    /**
     * Makes a host (or a detached machine) an instance: an `ins-` id, a system disk `disk-`, a
     * security group `sg-` (default Ingress ACCEPT TCP 22 from anywhere), addresses, a TAT agent.
     */
    async addInstance(machine: TestHost | Machine, opts: AddInstanceOptions = {}): Promise<InstanceInfo> {
        const m: Machine = machine instanceof TestHost ? new LabMachine(machine) : machine;
        const core = this.core;
        const region = opts.region ?? this.region;
        this.regions.add(region);
        const zone = opts.zone ?? `${region}-3`;
        const id = opts.instanceId ?? core.newId("ins");
        if (!/^ins-[0-9a-z]{8}$/.test(id) || core.instances.has(id)) {
            throw new Error(`instance id ${id} is malformed or taken`);
        }
        let group = opts.securityGroupId ? core.groups.get(opts.securityGroupId) : undefined;
        if (!group) {
            group = { id: opts.securityGroupId ?? core.newId("sg"), region, version: 0, Ingress: [], Egress: [] };
            group.Ingress.push(...(opts.ingress ?? [{ Protocol: "TCP", Port: "22", CidrBlock: "0.0.0.0/0", Action: "ACCEPT", PolicyDescription: "SSH" }])
                .map((p, n) => normalisePolicy(p, `ingress.${n}.`)));
            group.Egress.push(...(opts.egress ?? [{ Protocol: "ALL", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }])
                .map((p, n) => normalisePolicy(p, `egress.${n}.`)));
            group.version = 1;
            core.groups.set(group.id, group);
        }
        const diskId = core.newId("disk");
        const now = Date.now();
        const instance: InstanceRecord = {
            id, region, zone, name: opts.name ?? (machine instanceof TestHost ? machine.name : id), machine: m, diskId,
            securityGroupIds: [group.id], publicIp: opts.publicIp === undefined ? m.address : opts.publicIp,
            vpcId: `vpc-${id.slice(4)}`, subnetId: `subnet-${id.slice(4)}`, uuid: core.newUuid(), createdMs: now,
            state: "RUNNING", latestOperation: null, latestOperationState: null, latestOperationRequestId: null,
            agentEnabled: opts.agentOnline ?? true, agentUp: true, lastHeartbeatMs: (opts.agentOnline ?? true) ? now : null,
        };
        core.instances.set(id, instance);
        core.disks.set(diskId, {
            id: diskId, region, zone, instanceId: id, sizeGb: 50, createdMs: now, busy: false, snapshotAbility: true,
            rollbacking: false, rollbackStartMs: 0,
        });
        await this.firewall.apply();
        return { instanceId: id, diskId, securityGroupId: group.id, region, zone, address: m.address };
    }

    private instanceOf(instanceId: string): InstanceRecord {
        const i = this.core.instances.get(instanceId);
        if (!i) {
            throw new Error(`no instance ${instanceId}`);
        }
        return i;
    }

    /** The test host behind an instance as it is now (a new TestHost after every boot). */
    host(instanceId: string): TestHost {
        const m = this.instanceOf(instanceId).machine;
        if (!(m instanceof LabMachine)) {
            throw new Error(`${instanceId} is not backed by a test host`);
        }
        return m.host;
    }

    instanceState(instanceId: string): InstanceState {
        return this.instanceOf(instanceId).state;
    }

    /** Switch: the TAT agent of an instance runs (Online while the instance runs) or not (Offline). */
    setAgentOnline(instanceId: string, online: boolean): void {
        const i = this.instanceOf(instanceId);
        if (this.core.agentOnline(i)) {
            i.lastHeartbeatMs = Date.now();
        }
        i.agentEnabled = online;
    }

    /** Switch: the disk is busy (CreateSnapshot and ApplySnapshot answer InvalidDisk.Busy). */
    setDiskBusy(diskId: string, busy: boolean): void {
        this.diskOf(diskId).busy = busy;
    }

    /** Switch: the disk supports snapshots (false: CreateSnapshot answers InvalidDisk.NotSupportSnapshot). */
    setDiskSnapshotAbility(diskId: string, able: boolean): void {
        this.diskOf(diskId).snapshotAbility = able;
    }

    /** Switch: snapshots allowed per region (beyond: InsufficientSnapshotQuota). */
    setSnapshotQuota(quota: number): void {
        this.core.snapshotQuota = quota;
    }

    setLatency(latency: Partial<Latencies>): void {
        Object.assign(this.core.latency, latency);
    }

    get latency(): Readonly<Latencies> {
        return { ...this.core.latency };
    }

    setRateLimit(perSecond: number): void {
        this.rateLimit = perSecond;
    }

    /** Skews the server's clock (seconds) as the signature check sees it: beyond 300 s, AuthFailure.SignatureExpire. */
    setClockSkew(seconds: number): void {
        this.clockSkewSeconds = seconds;
    }

    private diskOf(diskId: string) {
        const d = this.core.disks.get(diskId);
        if (!d) {
            throw new Error(`no disk ${diskId}`);
        }
        return d;
    }

    private groupOf(sgId: string): SecurityGroupRecord {
        const g = this.core.groups.get(sgId);
        if (!g) {
            throw new Error(`no security group ${sgId}`);
        }
        return g;
    }

    /** A copy of a security group's policies and Version, as DescribeSecurityGroupPolicies would show them. */
    securityGroup(sgId: string): { version: number; Ingress: Policy[]; Egress: Policy[] } {
        const g = this.groupOf(sgId);
        return { version: g.version, Ingress: g.Ingress.map((p) => ({ ...p })), Egress: g.Egress.map((p) => ({ ...p })) };
    }

    /**
     * Another writer changes a security group behind the client's back (the console, a colleague):
     * adds policies at `index` (default: the end) and/or removes those at `remove`, one Version up each.
     */
    async changeSecurityGroup(sgId: string, direction: Direction,
        change: { add?: readonly PolicyInput[]; index?: number; remove?: readonly number[] }): Promise<void> {
        const g = this.groupOf(sgId);
        try {
            if (change.remove && change.remove.length > 0) {
                await removePolicies(this.core, g, direction, change.remove);
            }
            if (change.add && change.add.length > 0) {
                await insertPolicies(this.core, g, direction, change.add.map((p, n) => normalisePolicy(p, `add.${n}.`)), change.index);
            }
        } catch (e) {
            throw e instanceof ApiError ? new Error(`${e.code}: ${e.message}`) : e;
        }
    }

    /** A snapshot as the emulator keeps it: when it was made and became NORMAL, its tags, the copy of the disk. */
    snapshot(snapshotId: string): { createdMs: number; readyMs: number; deadlineMs: number | null; name: string;
        tags: { Key: string; Value: string }[]; dir: string } | undefined {
        const s = this.core.snapshots.get(snapshotId);
        return s && { createdMs: s.createdMs, readyMs: s.readyMs, deadlineMs: s.deadlineMs, name: s.name, tags: s.tags.map((t) => ({ ...t })), dir: s.dir };
    }

    /** The nftables table that enforces the security groups (in the machine's root network namespace). */
    get firewallTable(): string {
        return this.firewall.table;
    }

    /** Every call answered so far, in order. */
    get calls(): readonly CallRecord[] {
        return this.callLog;
    }

    /** Calls per action, keyed `service.Action` (failed calls count too). */
    callCounts(): Record<string, number> {
        const counts: Record<string, number> = {};
        for (const c of this.callLog) {
            const k = `${c.service}.${c.action}`;
            counts[k] = (counts[k] ?? 0) + 1;
        }
        return counts;
    }

    resetCalls(): void {
        this.callLog.length = 0;
    }

    /** Failures of the emulator itself (a copy or a power-off that failed); a test can assert there are none. */
    get internalErrors(): readonly Error[] {
        return this.core.internalErrors;
    }

    /** Waits for the background jobs (power changes, rollbacks, TAT tasks) that are under way. */
    settle(): Promise<void> {
        return this.core.settle();
    }

    /**
     * Stops answering, waits for running jobs, removes the security group table and the snapshots.
     * Hosts are left as they are (a stopped host stays stopped; the lab destroys them); a rescue
     * system still running is thrown away, nothing written back.
     */
    async close(): Promise<void> {
        this.core.closed = true;
        await this.server.close();
        await this.core.settle();
        await this.firewall.close();
        process.off("exit", this.removeDataDir);
        this.removeDataDir();
    }
}

/** Starts an emulator on 127.0.0.1 at a free port. */
export function startEmulator(opts: EmulatorOptions = {}): Promise<TencentEmulator> {
    return TencentEmulator.start(opts);
}

/** A detached machine for tests of the API alone: an address and a disk folder, nothing running. */
export function detachedMachine(address: string, diskDir: string): Machine {
    return new DetachedMachine(address, diskDir);
}
