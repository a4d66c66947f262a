import type * as pulumi from "@pulumi/pulumi";
import type { TencentSettings } from "./settings";
import { createSnapshot, snapshotFailureOf, snapshotFailures, systemDiskOf, waitSnapshot } from "./cbs";
import { admitLogin, planAdmission, readPolicies, removeOwn } from "./security-group";
import { withHint, isTencentApiError } from "./api";
import type { RescueAccess, RescueReport } from "../core/pipeline";
import type { SshTarget } from "../core/transport";

/** The cloud-side steps' providers, loaded by path when a step runs (see core/provider-shim.ts). */

interface DiskSnapshotState {
    settings: TencentSettings;
    instanceId: string;
    /** The host differs from the declaration: a change follows, so the disk is snapshotted first. */
    pending: boolean;
    desiredHash: string;
    name: string;
    tags: Record<string, string>;
    retentionDays: number;
    /** The system disk when the declaration names it (else DescribeInstances says). */
    systemDiskId: string | null;
    /** Set by create/update: the snapshot taken by the last run that changed the host. */
    snapshotId?: string | null;
    diskId?: string | null;
    /** Progress as the run saw it (`CREATING 40%`, …, `NORMAL 100%`). */
    progress?: string[];
}

async function takeSnapshot(s: DiskSnapshotState): Promise<DiskSnapshotState> {
    if (!s.pending) return { ...s, snapshotId: s.snapshotId ?? null, diskId: s.diskId ?? null, progress: [] };
    const where = `Tencent Cloud instance ${s.instanceId} (${s.settings.region})`;
    let diskId: string;
    let snapshotId: string;
    try {
        diskId = s.systemDiskId ?? (await systemDiskOf(s.settings, s.instanceId)).diskId;
        snapshotId = await createSnapshot(s.settings, { diskId, name: s.name, tags: s.tags, retentionDays: s.retentionDays });
    } catch (e) {
        const kind = snapshotFailureOf(e);
        const err = kind && isTencentApiError(e) ? withHint(e, snapshotFailures[kind].hint) : e;
        throw new Error(`${where}: the disk snapshot taken before any change failed, so nothing was sent to the host: ${(err as Error).message}`);
    }
    const progress: string[] = [];
    // Shown as it happens (the engine prints a provider's stderr), and kept in the outputs.
    await waitSnapshot(s.settings, snapshotId, (percent, state) => {
        progress.push(`${state} ${percent}%`);
        process.stderr.write(`sshremedy: ${where}: snapshot ${snapshotId} of ${diskId}: ${state} ${percent}%\n`);
    });
    return { ...s, snapshotId, diskId, progress };
}

export const diskSnapshotProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: DiskSnapshotState) {
        return { id: `${inputs.instanceId}-disk-snapshot`, outs: await takeSnapshot(inputs) };
    },
    async update(_id: string, olds: DiskSnapshotState, news: DiskSnapshotState) {
        return { outs: await takeSnapshot({ ...news, snapshotId: olds.snapshotId, diskId: olds.diskId }) };
    },
    async diff(_id: string, olds: DiskSnapshotState, news: DiskSnapshotState) {
        return { changes: news.pending || olds.desiredHash !== news.desiredHash || olds.instanceId !== news.instanceId };
    },
};

interface AdmissionState {
    settings: TencentSettings;
    instanceId: string;
    sources: string[];
    port: number;
    /** Marks the rules as this host's (`sshremedy:<owner>` in PolicyDescription). */
    owner: string;
    securityGroupId?: string;
    added?: string[];
}

async function admit(s: AdmissionState): Promise<AdmissionState> {
    const groups = (await systemDiskOf(s.settings, s.instanceId)).securityGroupIds;
    // The first group is evaluated first: an ACCEPT there, ahead of its DROPs, admits the login.
    const securityGroupId = groups[0];
    if (!securityGroupId) {
        throw new Error(`Tencent Cloud instance ${s.instanceId} has no security group to admit the login in`);
    }
    const r = await admitLogin(s.settings, { securityGroupId, sources: s.sources, port: s.port, owner: s.owner });
    return { ...s, securityGroupId, added: r.added };
}

export const admissionProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: AdmissionState) {
        const outs = await admit(inputs);
        return { id: `${inputs.instanceId}-security-group`, outs };
    },
    async update(_id: string, olds: AdmissionState, news: AdmissionState) {
        if (olds.securityGroupId && olds.owner !== news.owner) {
            await removeOwn(olds.settings, { securityGroupId: olds.securityGroupId, owner: olds.owner });
        }
        return { outs: await admit(news) };
    },
    // Asks the group itself: a rule someone removed or a DROP put ahead of it is a change to make.
    async diff(_id: string, olds: AdmissionState, news: AdmissionState) {
        if (olds.instanceId !== news.instanceId || olds.port !== news.port || olds.owner !== news.owner
            || JSON.stringify([...olds.sources].sort()) !== JSON.stringify([...news.sources].sort()) || !olds.securityGroupId) {
            return { changes: true };
        }
        const { ingress } = await readPolicies(news.settings, olds.securityGroupId);
        return { changes: planAdmission(ingress, { sources: news.sources, port: news.port, owner: news.owner }).rules.length > 0 };
    },
    async delete(_id: string, props: AdmissionState) {
        if (props.securityGroupId) {
            await removeOwn(props.settings, { securityGroupId: props.securityGroupId, owner: props.owner });
        }
    },
};


interface RescueState {
    settings: TencentSettings;
    instanceId: string;
    desiredHash: string;
    needed: boolean;
    access: RescueAccess | null;
    login: SshTarget;
    owner: string;
    outcome?: RescueReport | null;
}

async function rescueIfNeeded(s: RescueState, previous: RescueReport | null): Promise<RescueState> {
    if (!s.needed) return { ...s, outcome: previous };
    if (!s.access) throw new Error(`Tencent Cloud instance ${s.instanceId}: rescue mode was needed but the declaration did not allow it`);
    // Loaded here, not at the top: only a rescue needs the concerns (and they load the pipeline).
    const { rescueConcerns } = require("../ssh-access") as typeof import("../ssh-access");
    const { repairFromRescue } = require("./rescue") as typeof import("./rescue");
    const where = `Tencent Cloud instance ${s.instanceId} (${s.settings.region})`;
    const say = (line: string) => process.stderr.write(`sshremedy: ${where}: ${line}\n`);
    for (const c of s.access.leftOut) say(`${c} is not repaired from rescue mode: the next run that reaches the instance checks it`);
    const o = await repairFromRescue({
        settings: s.settings, instanceId: s.instanceId, login: s.login, concerns: rescueConcerns(s.access),
        connection: s.access.connection, owner: s.owner, device: s.access.device, loginWaitSec: s.access.loginWaitSec, pollMs: 2_000, say,
    });
    say(`out of service ${o.downtimeSec} s: into rescue mode ${o.phasesSec.enter} s, on the disk ${o.phasesSec.repair} s, `
        + `out of rescue mode ${o.phasesSec.exit} s, boot until the login worked ${o.phasesSec.login} s`);
    // Everything but the host keys, which only the repair's own login needed.
    const { hostKeys: _pinned, ...report } = o;
    return { ...s, outcome: report };
}

export const rescueProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: RescueState) {
        return { id: `${inputs.instanceId}-rescue`, outs: await rescueIfNeeded(inputs, null) };
    },
    async update(_id: string, olds: RescueState, news: RescueState) {
        return { outs: await rescueIfNeeded(news, olds.outcome ?? null) };
    },
    // Only a run that finds the instance unreachable (and its login failing) changes anything.
    async diff(_id: string, olds: RescueState, news: RescueState) {
        return { changes: news.needed || olds.instanceId !== news.instanceId };
    },
};
