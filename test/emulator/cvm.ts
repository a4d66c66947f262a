import { randomBytes } from "crypto";
import * as path from "path";
import { ApiError, Json, optBool, optFilters, optString, optStrings, page, Params, reqString, isoTime } from "./params";
import { CallContext, ServiceDef } from "./server";
import { Core, InstanceRecord, sleep } from "./state";

/** CVM 2017-03-12: the instances, their power state and the VNC console's URL. */

const instanceIdPattern = /^ins-[0-9a-z]{8}$/;

/** The instances named by `ids`, all of them or an error: Malformed before NotFound, as the service checks. */
export function findInstances(core: Core, region: string, ids: readonly string[]): InstanceRecord[] {
    if (ids.length > 100) {
        throw new ApiError("InvalidParameterValue.LimitExceeded", `At most 100 InstanceIds per request; got ${ids.length}.`);
    }
    const malformed = ids.filter((id) => !instanceIdPattern.test(id));
    if (malformed.length > 0) {
        throw new ApiError("InvalidInstanceId.Malformed", `Malformed instance id(s): ${malformed.join(", ")} (expected ins-xxxxxxxx).`);
    }
    const missing = ids.filter((id) => !core.instanceIn(region, id));
    if (missing.length > 0) {
        throw new ApiError("InvalidInstanceId.NotFound", `The instance(s) ${missing.join(", ")} do not exist in ${region}.`);
    }
    return ids.map((id) => core.instanceIn(region, id) as InstanceRecord);
}

function instanceJson(core: Core, i: InstanceRecord): Record<string, Json> {
    const disk = core.disks.get(i.diskId);
    return {
        Placement: { Zone: i.zone, ProjectId: 0, HostIds: null, HostId: null },
        InstanceId: i.id,
        InstanceType: "SA2.MEDIUM2",
        CPU: 2,
        Memory: 2,
        RestrictState: "NORMAL",
        InstanceName: i.name,
        InstanceChargeType: "POSTPAID_BY_HOUR",
        SystemDisk: { DiskType: "CLOUD_PREMIUM", DiskId: i.diskId, DiskSize: disk?.sizeGb ?? 50 },
        DataDisks: null,
        PrivateIpAddresses: [i.machine.address],
        PublicIpAddresses: i.publicIp === null ? null : [i.publicIp],
        InternetAccessible: {
            InternetChargeType: "TRAFFIC_POSTPAID_BY_HOUR",
            InternetMaxBandwidthOut: i.publicIp === null ? 0 : 1,
            PublicIpAssigned: i.publicIp !== null,
        },
        VirtualPrivateCloud: { VpcId: i.vpcId, SubnetId: i.subnetId, AsVpcGateway: false, PrivateIpAddresses: null, Ipv6AddressCount: 0 },
        ImageId: "img-487zeit5",
        RenewFlag: null,
        CreatedTime: isoTime(i.createdMs),
        ExpiredTime: null,
        OsName: "Debian Server 12.0 64bit",
        SecurityGroupIds: [...i.securityGroupIds],
        LoginSettings: { Password: null, KeyIds: null, KeepImageLogin: null },
        InstanceState: i.state,
        Tags: [],
        StopChargingMode: "NOT_APPLICABLE",
        Uuid: i.uuid,
        LatestOperation: i.latestOperation,
        LatestOperationState: i.latestOperationState,
        LatestOperationRequestId: i.latestOperationRequestId,
        LatestOperationErrorMsg: null,
        DisasterRecoverGroupId: "",
        IPv6Addresses: null,
        CamRoleName: "",
        HpcClusterId: "",
        RdmaIpAddresses: null,
        IsolatedSource: "NOTISOLATED",
        GPUInfo: null,
        LicenseType: "TencentCloud",
        DisableApiTermination: false,
        DefaultLoginUser: "root",
        DefaultLoginPort: 22,
    };
}

const instanceFilters: Record<string, (core: Core, i: InstanceRecord) => readonly string[]> = {
    "zone": (_c, i) => [i.zone],
    "instance-id": (_c, i) => [i.id],
    "instance-name": (_c, i) => [i.name],
    "instance-state": (_c, i) => [i.state],
    "private-ip-address": (_c, i) => [i.machine.address],
    "public-ip-address": (_c, i) => (i.publicIp === null ? [] : [i.publicIp]),
    "vpc-id": (_c, i) => [i.vpcId],
    "subnet-id": (_c, i) => [i.subnetId],
    "security-group-id": (_c, i) => i.securityGroupIds,
};

function describeInstances(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const ids = optStrings(p, "InstanceIds");
    const filters = optFilters(p, Object.keys(instanceFilters), "InvalidFilter");
    if (ids && filters) {
        throw new ApiError("InvalidParameter", "InstanceIds and Filters cannot be specified at the same time.");
    }
    const { offset, limit } = page(p, 20, 100, "InvalidParameterValue.LimitExceeded");
    let set = ids
        ? findInstances(core, ctx.region, ids)
        : [...core.instances.values()].filter((i) => i.region === ctx.region);
    for (const f of filters ?? []) {
        set = set.filter((i) => instanceFilters[f.name](core, i).some((v) => f.values.includes(v)));
    }
    return { TotalCount: set.length, InstanceSet: set.slice(offset, offset + limit).map((i) => instanceJson(core, i)) };
}

function describeInstancesStatus(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const ids = optStrings(p, "InstanceIds");
    const { offset, limit } = page(p, 20, 100, "InvalidParameterValue.LimitExceeded");
    const set = ids ? findInstances(core, ctx.region, ids) : [...core.instances.values()].filter((i) => i.region === ctx.region);
    return {
        TotalCount: set.length,
        InstanceStatusSet: set.slice(offset, offset + limit).map((i) => ({ InstanceId: i.id, InstanceState: i.state })),
    };
}

function describeInstanceVncUrl(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const [i] = findInstances(core, ctx.region, [reqString(p, "InstanceId")]);
    core.requireState(i, ["RUNNING"]);
    // Valid once and for 15 s on the service; open it with
    // https://img.qcloud.com/qcloud/app/active_vnc/index.html?InstanceVncUrl=<url-encoded value>.
    const token = randomBytes(24).toString("hex");
    return { InstanceVncUrl: `wss://${ctx.region.replace(/^ap-/, "")}vnc.qcloud.com:26789/vnc?s=${token}` };
}

/** Marks an operation on an instance, as LatestOperation* report it. */
function operation(i: InstanceRecord, name: string, requestId: string): void {
    i.latestOperation = name;
    i.latestOperationState = "OPERATING";
    i.latestOperationRequestId = requestId;
}

/** STOPPING, the real power-off, STOPPED. The caller has checked the state. */
export async function powerOff(core: Core, i: InstanceRecord, graceful: boolean): Promise<void> {
    const started = Date.now();
    i.state = "STOPPING";
    i.agentUp = false;
    try {
        await i.machine.powerOff(graceful);
        await sleep(core.latency.stopMs - (Date.now() - started));
        i.state = "STOPPED";
        i.latestOperationState = "SUCCESS";
    } catch (e) {
        i.state = "RUNNING";
        i.latestOperationState = "FAILED";
        throw e;
    }
}

/** STARTING, the real boot, RUNNING; the TAT agent comes online once the guest has booted. */
/**
 * Boots the instance: `meanwhile` is the state the API reports until it runs (STARTING, or
 * EXIT_RESCUE_MODE), and `first` what happens before the power comes on (the rescue disk written back).
 */
export async function powerOn(core: Core, i: InstanceRecord, meanwhile: InstanceRecord["state"] = "STARTING", first?: () => Promise<void>): Promise<void> {
    const started = Date.now();
    i.state = meanwhile;
    try {
        await first?.();
        await i.machine.powerOn();
        await sleep(core.latency.startMs - (Date.now() - started));
        i.state = "RUNNING";
        i.latestOperationState = "SUCCESS";
    } catch (e) {
        i.state = "STOPPED";
        i.latestOperationState = "FAILED";
        throw e;
    }
    agentAfterBoot(core, i);
}

/** The TAT agent comes online once the guest has booted. */
function agentAfterBoot(core: Core, i: InstanceRecord): void {
    core.background(async () => {
        await i.machine.booted();
        await sleep(core.latency.agentStartMs);
        if (i.state === "RUNNING") {
            i.agentUp = true;
            i.lastHeartbeatMs = Date.now();
        }
    });
}

function busyWithDisk(core: Core, i: InstanceRecord): void {
    if (core.disks.get(i.diskId)?.rollbacking) {
        throw new ApiError("OperationDenied.InstanceOperationInProgress", `The system disk of ${i.id} is being rolled back.`);
    }
}

function stopInstances(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const set = findInstances(core, ctx.region, optStrings(p, "InstanceIds") ?? []);
    if (set.length === 0) {
        throw new ApiError("MissingParameter", "The request is missing a required parameter `InstanceIds`.");
    }
    const stopType = optString(p, "StopType") ?? "SOFT_FIRST";
    if (!["SOFT", "HARD", "SOFT_FIRST"].includes(stopType)) {
        throw new ApiError("InvalidParameterValue", `StopType must be SOFT, HARD or SOFT_FIRST; got ${stopType}.`);
    }
    const stoppedMode = optString(p, "StoppedMode");
    if (stoppedMode !== undefined && !["KEEP_CHARGING", "STOP_CHARGING"].includes(stoppedMode)) {
        throw new ApiError("InvalidParameterValue", `StoppedMode must be KEEP_CHARGING or STOP_CHARGING; got ${stoppedMode}.`);
    }
    const graceful = !(optBool(p, "ForceStop") ?? false) && stopType !== "HARD";
    // All or nothing: one instance that cannot stop refuses the whole request.
    set.forEach((i) => core.requireState(i, ["RUNNING"]));
    set.forEach((i) => busyWithDisk(core, i));
    for (const i of set) {
        operation(i, "StopInstances", ctx.requestId);
        i.state = "STOPPING";
        core.background(() => powerOff(core, i, graceful));
    }
    return {};
}

function startInstances(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const set = findInstances(core, ctx.region, optStrings(p, "InstanceIds") ?? []);
    if (set.length === 0) {
        throw new ApiError("MissingParameter", "The request is missing a required parameter `InstanceIds`.");
    }
    set.forEach((i) => core.requireState(i, ["STOPPED"]));
    set.forEach((i) => busyWithDisk(core, i));
    for (const i of set) {
        operation(i, "StartInstances", ctx.requestId);
        i.state = "STARTING";
        core.background(() => powerOn(core, i));
    }
    return {};
}

/**
 * The rescue system's password. The rule of CVM's instance passwords for Linux (ResetInstancesPassword,
 * RunInstances): 8 to 30 characters, at least three of lower case, upper case, digits and
 * ()`~!@#$%^&*-+=_|{}[]:;'<>,.?/ (nothing else), not starting with "/". EnterRescueMode's own
 * documentation states no rule; that it is the same (and that the code is InvalidPassword) is a guess.
 */
const passwordSpecials = "()`~!@#$%^&*-+=_|{}[]:;'<>,.?/";
function checkPassword(pw: string): void {
    const chars = [...pw];
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((re) => re.test(pw)).length
        + (chars.some((c) => passwordSpecials.includes(c)) ? 1 : 0);
    const allowed = (c: string) => /[A-Za-z0-9]/.test(c) || passwordSpecials.includes(c);
    if (pw.length < 8 || pw.length > 30 || pw.startsWith("/") || !chars.every(allowed) || classes < 3) {
        throw new ApiError("InvalidPassword",
            "The password must be 8 to 30 characters with at least three of: lower case, upper case, digits, " +
            `special characters ${passwordSpecials}; it cannot start with "/".`);
    }
}

/**
 * ENTER_RESCUE_MODE (the instance powers off if it runs, its disk is attached to a rescue system
 * that boots at its address), then RESCUE_MODE once the rescue system answers.
 */
function enterRescueMode(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const [i] = findInstances(core, ctx.region, [reqString(p, "InstanceId")]);
    const password = reqString(p, "Password");
    checkPassword(password);
    const username = optString(p, "Username") ?? "root";
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(username)) {
        throw new ApiError("InvalidParameterValue", `Username must be a Linux user name; got ${username}.`);
    }
    const stopType = optString(p, "StopType") ?? "SOFT";
    if (!["SOFT", "HARD", "SOFT_FIRST"].includes(stopType)) {
        throw new ApiError("InvalidParameterValue", `StopType must be SOFT, HARD or SOFT_FIRST; got ${stopType}.`);
    }
    core.requireState(i, ["RUNNING", "STOPPED"]);
    busyWithDisk(core, i);
    operation(i, "EnterRescueMode", ctx.requestId);
    const wasRunning = i.state === "RUNNING";
    i.state = "ENTER_RESCUE_MODE";
    i.agentUp = false;
    core.background(async () => {
        const started = Date.now();
        try {
            if (wasRunning) {
                await i.machine.powerOff(stopType !== "HARD");
            }
            await i.machine.enterRescue({ password, username, workDir: path.join(core.dataDir, `rescue-${i.id}`) });
            await sleep(core.latency.stopMs - (Date.now() - started));
            i.state = "RESCUE_MODE";
            i.latestOperationState = "SUCCESS";
        } catch (e) {
            // What is left is a powered-off instance (the rescue system threw itself away).
            i.state = "STOPPED";
            i.latestOperationState = "FAILED";
            throw e;
        }
    });
    return {};
}

/** EXIT_RESCUE_MODE (the rescue system powers off, the disk goes back), then RUNNING from that disk. */
function exitRescueMode(core: Core, ctx: CallContext, p: Params): Record<string, Json> {
    const [i] = findInstances(core, ctx.region, [reqString(p, "InstanceId")]);
    core.requireState(i, ["RESCUE_MODE"]);
    operation(i, "ExitRescueMode", ctx.requestId);
    i.state = "EXIT_RESCUE_MODE";
    core.background(() => powerOn(core, i, "EXIT_RESCUE_MODE", () => i.machine.exitRescue()));
    return {};
}

export function cvmService(core: Core): ServiceDef {
    return {
        version: "2017-03-12",
        actions: {
            DescribeInstances: { params: ["InstanceIds", "Filters", "Offset", "Limit"], run: (ctx, p) => describeInstances(core, ctx, p) },
            DescribeInstancesStatus: { params: ["InstanceIds", "Offset", "Limit"], run: (ctx, p) => describeInstancesStatus(core, ctx, p) },
            DescribeInstanceVncUrl: { params: ["InstanceId"], run: (ctx, p) => describeInstanceVncUrl(core, ctx, p) },
            StopInstances: { params: ["InstanceIds", "ForceStop", "StopType", "StoppedMode"], run: (ctx, p) => stopInstances(core, ctx, p) },
            StartInstances: { params: ["InstanceIds", "LaunchTemplate"], run: (ctx, p) => startInstances(core, ctx, p) },
            EnterRescueMode: { params: ["InstanceId", "Password", "Username", "StopType"], run: (ctx, p) => enterRescueMode(core, ctx, p) },
            ExitRescueMode: { params: ["InstanceId"], run: (ctx, p) => exitRescueMode(core, ctx, p) },
        },
    };
}
