import type { TencentSettings } from "./settings";
import { call, tencentApiError, tencentRuntime } from "./api";

/** What sshremedy needs to know about a CVM instance (from DescribeInstances). */
export interface InstanceInfo {
    readonly instanceId: string;
    /** RUNNING, STOPPED, STARTING, STOPPING, RESCUE_MODE, … */
    readonly state: string;
    readonly systemDisk: { readonly diskId: string; readonly diskType?: string; readonly diskSize?: number };
    readonly privateAddresses: string[];
    readonly publicAddresses: string[];
    readonly securityGroupIds: string[];
    readonly vpcId?: string;
}

interface RawInstance {
    InstanceId: string;
    InstanceState?: string;
    SystemDisk?: { DiskId?: string; DiskType?: string; DiskSize?: number };
    PrivateIpAddresses?: string[] | null;
    PublicIpAddresses?: string[] | null;
    SecurityGroupIds?: string[] | null;
    VirtualPrivateCloud?: { VpcId?: string } | null;
}

/** Sleeps; the waiting loops' one pause. */
export function delay(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** DescribeInstances for one instance; an unknown id fails with `InvalidInstanceId.NotFound`. */
export async function describeInstance(settings: TencentSettings, instanceId: string): Promise<InstanceInfo> {
    const r = await call<{ TotalCount?: number; InstanceSet?: RawInstance[]; RequestId?: string }>(
        settings, "cvm", "DescribeInstances", { InstanceIds: [instanceId] });
    const i = (r.InstanceSet ?? []).find((x) => x.InstanceId === instanceId);
    if (!i) {
        // The API may answer an unknown id with an empty set rather than an error: the same to us.
        throw tencentApiError({
            service: "cvm", action: "DescribeInstances", code: "InvalidInstanceId.NotFound", requestId: r.RequestId,
            detail: `no instance ${instanceId} in region ${settings.region}`, attempts: 1, transient: false,
            hint: "Check the instance id and the region (tencentcloud:region)",
        });
    }
    if (!i.SystemDisk?.DiskId) {
        throw new Error(`Tencent Cloud instance ${instanceId}: DescribeInstances gave no SystemDisk.DiskId`);
    }
    return {
        instanceId,
        state: i.InstanceState ?? "UNKNOWN",
        systemDisk: {
            diskId: i.SystemDisk.DiskId,
            ...(i.SystemDisk.DiskType !== undefined ? { diskType: i.SystemDisk.DiskType } : {}),
            ...(i.SystemDisk.DiskSize !== undefined ? { diskSize: i.SystemDisk.DiskSize } : {}),
        },
        privateAddresses: i.PrivateIpAddresses ?? [],
        publicAddresses: i.PublicIpAddresses ?? [],
        securityGroupIds: i.SecurityGroupIds ?? [],
        ...(i.VirtualPrivateCloud?.VpcId ? { vpcId: i.VirtualPrivateCloud.VpcId } : {}),
    };
}

/** The instance's state from DescribeInstancesStatus (`undefined` when the API does not list it). */
export async function instanceState(settings: TencentSettings, instanceId: string): Promise<string | undefined> {
    const r = await call<{ InstanceStatusSet?: { InstanceId: string; InstanceState: string }[] }>(
        settings, "cvm", "DescribeInstancesStatus", { InstanceIds: [instanceId] });
    return (r.InstanceStatusSet ?? []).find((s) => s.InstanceId === instanceId)?.InstanceState;
}

export interface WaitOptions {
    /** Default 10 minutes. */
    readonly timeoutMs?: number;
    /** Default 3 s. */
    readonly pollMs?: number;
}

/** Polls until the instance is in `wanted`; fails on LAUNCH_FAILED or SHUTDOWN/TERMINATING, or at the timeout. */
export async function waitInstanceState(settings: TencentSettings, instanceId: string, wanted: string, opts: WaitOptions = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
    let last: string | undefined;
    for (;;) {
        last = await instanceState(settings, instanceId);
        if (last === wanted) return;
        if (last !== undefined && ["LAUNCH_FAILED", "SHUTDOWN", "TERMINATING"].includes(last)) {
            throw new Error(`Tencent Cloud instance ${instanceId} is ${last}, it will not become ${wanted}`);
        }
        if (Date.now() >= deadline) {
            throw new Error(`Tencent Cloud instance ${instanceId} is still ${last ?? "not listed"} after `
                + `${Math.round((opts.timeoutMs ?? 600_000) / 1000)} s waiting for ${wanted}`);
        }
        await delay(opts.pollMs ?? 3000);
    }
}

/**
 * Stops the instance (soft shutdown, forced if that fails: StopType SOFT_FIRST) and waits for
 * STOPPED. Nothing when already stopped; only the wait when already stopping.
 */
export async function stopInstance(settings: TencentSettings, instanceId: string, opts: WaitOptions = {}): Promise<void> {
    // Its TAT agent goes with it: no longer trusted to be online.
    for (const key of tencentRuntime().agentsOnline.keys()) {
        if (key.endsWith(`|${instanceId}`)) tencentRuntime().agentsOnline.delete(key);
    }
    const state = await instanceState(settings, instanceId);
    if (state === "STOPPED") return;
    if (state !== "STOPPING") {
        await call(settings, "cvm", "StopInstances", { InstanceIds: [instanceId], StopType: "SOFT_FIRST" });
    }
    await waitInstanceState(settings, instanceId, "STOPPED", opts);
}

/** Starts the instance and waits for RUNNING. Nothing when already running; only the wait when already starting. */
export async function startInstance(settings: TencentSettings, instanceId: string, opts: WaitOptions = {}): Promise<void> {
    const state = await instanceState(settings, instanceId);
    if (state === "RUNNING") return;
    if (state !== "STARTING") {
        await call(settings, "cvm", "StartInstances", { InstanceIds: [instanceId] });
    }
    await waitInstanceState(settings, instanceId, "RUNNING", opts);
}

/** The page that opens an instance's VNC console for a URL from DescribeInstanceVncUrl. */
export const vncConsolePage = "https://img.qcloud.com/qcloud/app/active_vnc/index.html";

/**
 * A link that opens the instance's VNC console in a browser (DescribeInstanceVncUrl). The link
 * works once, within 15 seconds; the instance must not be STOPPED.
 */
export async function vncConsoleUrl(settings: TencentSettings, instanceId: string): Promise<string> {
    const r = await call<{ InstanceVncUrl: string }>(settings, "cvm", "DescribeInstanceVncUrl", { InstanceId: instanceId });
    return `${vncConsolePage}?InstanceVncUrl=${encodeURIComponent(r.InstanceVncUrl)}`;
}

/** What is left when no command reaches the instance: its console, or rescue mode. For messages. */
export function outOfBandRoutes(instanceId: string, region: string): string {
    return `What is left is the instance's console: the VNC console (CVM console → instance ${instanceId} → Log in → `
        + `VNC, or the API: DescribeInstanceVncUrl {InstanceId:"${instanceId}"} in ${region}, then open `
        + `${vncConsolePage}?InstanceVncUrl=<the URL, URL-encoded> within 15 s: it is valid once, for 15 s, and not for a `
        + `STOPPED instance), or rescue mode (EnterRescueMode {InstanceId, Password, StopType} boots a rescue system `
        + `with the disk attached; ExitRescueMode ends it). From that console, reinstall or restart the TAT agent `
        + `(tat_agent) to make the instance reachable again`;
}
