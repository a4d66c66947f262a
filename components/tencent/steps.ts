import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { TencentSettings } from "./settings";
import { providerShim } from "../core/provider-shim";

const providers = path.join(__dirname, "step-providers");
const diskSnapshotProvider = providerShim(providers, "diskSnapshotProvider", ["create", "update", "diff"]);
const admissionProvider = providerShim(providers, "admissionProvider", ["create", "update", "diff", "delete"]);
const rescueProvider = providerShim(providers, "rescueProvider", ["create", "update", "diff"]);

/**
 * The pipeline's cloud-side steps for a Tencent Cloud instance, as dynamic resources:
 * `<host>-disk-snapshot` (a CBS snapshot of the system disk, before anything is sent to change
 * the host) and `<host>-security-group` (the login's sources admitted on its port in the
 * instance's security group, removed again on destroy).
 */

export const tencentStepTypes = {
    diskSnapshot: "pulumi-nodejs:dynamic/sshremedy:DiskSnapshot",
    securityGroup: "pulumi-nodejs:dynamic/sshremedy:SecurityGroupAdmission",
    rescue: "pulumi-nodejs:dynamic/sshremedy:RescueRepair",
} as const;

export interface DiskSnapshotArgs {
    readonly settings: pulumi.Input<TencentSettings>;
    readonly instanceId: pulumi.Input<string>;
    readonly pending: pulumi.Input<boolean>;
    readonly desiredHash: pulumi.Input<string>;
    readonly name: pulumi.Input<string>;
    readonly tags: pulumi.Input<Record<string, string>>;
    readonly retentionDays: number;
    readonly systemDiskId?: pulumi.Input<string>;
}

/** A CBS snapshot of the instance's system disk, taken when the run is about to change the host. */
export class DiskSnapshot extends pulumi.dynamic.Resource {
    declare readonly snapshotId: pulumi.Output<string | null>;
    declare readonly diskId: pulumi.Output<string | null>;
    declare readonly progress: pulumi.Output<string[]>;

    constructor(name: string, args: DiskSnapshotArgs, opts?: pulumi.CustomResourceOptions) {
        super(diskSnapshotProvider, name, { ...args, systemDiskId: args.systemDiskId ?? null, snapshotId: undefined, diskId: undefined, progress: undefined },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["settings"] }), "sshremedy", "DiskSnapshot");
    }
}

export interface SecurityGroupAdmissionArgs {
    readonly settings: pulumi.Input<TencentSettings>;
    readonly instanceId: pulumi.Input<string>;
    readonly sources: pulumi.Input<string[]>;
    readonly port: pulumi.Input<number>;
    readonly owner: pulumi.Input<string>;
}

/** The login's sources admitted on its port in the instance's (first) security group; removed on destroy. */
export class SecurityGroupAdmission extends pulumi.dynamic.Resource {
    declare readonly securityGroupId: pulumi.Output<string>;
    declare readonly added: pulumi.Output<string[]>;

    constructor(name: string, args: SecurityGroupAdmissionArgs, opts?: pulumi.CustomResourceOptions) {
        super(admissionProvider, name, { ...args, securityGroupId: undefined, added: undefined },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["settings"] }), "sshremedy", "SecurityGroupAdmission");
    }
}

export interface RescueRepairArgs {
    readonly settings: pulumi.Input<TencentSettings>;
    readonly instanceId: pulumi.Input<string>;
    readonly desiredHash: pulumi.Input<string>;
    /** Neither SSH nor TAT reaches the instance and the declared login fails: repair now. */
    readonly needed: pulumi.Input<boolean>;
    /** The declaration the concerns are rebuilt from (RescueAccess in core/pipeline.ts). */
    readonly access: pulumi.Input<unknown>;
    /** The declared login (secret). */
    readonly login: pulumi.Input<unknown>;
    readonly owner: pulumi.Input<string>;
}

/**
 * `<host>-rescue`: the system disk repaired from the instance's rescue mode (tencent/rescue.ts),
 * when the run finds neither SSH nor TAT reaching it; after the disk snapshot. Does nothing otherwise.
 */
export class RescueRepair extends pulumi.dynamic.Resource {
    declare readonly outcome: pulumi.Output<import("../core/pipeline").RescueReport | null>;

    constructor(name: string, args: RescueRepairArgs, opts?: pulumi.CustomResourceOptions) {
        super(rescueProvider, name, { ...args, outcome: undefined },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["settings", "login"] }), "sshremedy", "RescueRepair");
    }
}
