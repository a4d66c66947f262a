import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { CommonClient } from "tencentcloud-sdk-nodejs-common";
import { commonClient, detachedMachine, InstanceInfo, pinnedAgent, startEmulator, TencentEmulator } from "../emulator";
import { authorization } from "../emulator/sign";

/**
 * The emulator's protocol, spoken to by the official SDK's CommonClient over loopback HTTP. The
 * instances are detached machines (a disk folder, no host booted, no firewall): these tests need
 * neither root nor test hosts. test/e2e/tencent-emulator.test.ts covers what needs real hosts.
 */

type Res = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The error code a call fails with (the SDK's TencentCloudSDKHttpException.code). */
async function codeOf(p: Promise<unknown>): Promise<string> {
    try {
        await p;
    } catch (e) {
        const err = e as { code?: string; httpCode?: number; requestId?: string };
        assert.equal(err.httpCode, undefined, "an API error must come with HTTP 200");
        assert.ok(err.requestId, "an API error carries the RequestId");
        return err.code ?? `no code: ${String(e)}`;
    }
    return "no error";
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** A raw HTTP POST to the emulator, for what the SDK hides (the status code). */
function rawPost(port: number, headers: http.OutgoingHttpHeaders, body: string): Promise<{ status: number; json: Res }> {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/", headers }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }));
        });
        req.on("error", reject);
        req.end(body);
    });
}

describe("Tencent emulator: the API with the official SDK", function () {
    this.timeout(30_000);
    let emu: TencentEmulator;
    let disk: string;
    let one: InstanceInfo;
    let cvm: CommonClient;
    let cbs: CommonClient;
    let tat: CommonClient;
    let vpc: CommonClient;

    beforeEach(async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tencent-emulator-"));
        disk = path.join(dir, "disk");
        fs.mkdirSync(path.join(disk, "etc"), { recursive: true });
        fs.writeFileSync(path.join(disk, "etc", "marker"), "before\n");
        emu = await startEmulator({ firewall: false, dataDir: path.join(dir, "snapshots"), latency: { snapshotMs: 1_200, stopMs: 200, startMs: 200, rollbackMs: 300 } });
        one = await emu.addInstance(detachedMachine("198.51.100.10", disk));
        cvm = emu.client("cvm");
        cbs = emu.client("cbs");
        tat = emu.client("tat");
        vpc = emu.client("vpc");
    });

    afterEach(async () => {
        await emu.close();
        fs.rmSync(path.dirname(disk), { recursive: true, force: true });
        assert.deepEqual(emu.internalErrors.map((e) => e.message), []);
    });

    it("[tencent-emulator] a wrong secret key is AuthFailure.SignatureFailure, in an HTTP 200 answer with a RequestId", async () => {
        const bad = emu.client("cvm", { credential: { secretId: emu.credential.secretId, secretKey: "not-the-key" } });
        assert.equal(await codeOf(bad.request("DescribeInstances", {})), "AuthFailure.SignatureFailure");
        // The same seen on the wire: status 200, Response.Error{Code, Message}, Response.RequestId.
        const body = "{}";
        const ts = Math.floor(Date.now() / 1000);
        const headers = {
            "Host": `cvm.tencentcloudapi.test:${emu.port}`, "Content-Type": "application/json", "X-TC-Action": "DescribeInstances",
            "X-TC-Version": "2017-03-12", "X-TC-Region": emu.region, "X-TC-Timestamp": String(ts),
        };
        const sign = (secretKey: string) => authorization({
            secretId: emu.credential.secretId, secretKey, service: "cvm", timestamp: ts, host: "cvm.tencentcloudapi.test",
            contentType: "application/json", payload: body,
        });
        const refused = await rawPost(emu.port, { ...headers, Authorization: sign("not-the-key") }, body);
        assert.equal(refused.status, 200);
        assert.equal(refused.json.Response.Error.Code, "AuthFailure.SignatureFailure");
        assert.equal(typeof refused.json.Response.Error.Message, "string");
        assert.match(refused.json.Response.RequestId, /^[0-9a-f-]{36}$/);
        const ok = await rawPost(emu.port, { ...headers, Authorization: sign(emu.credential.secretKey) }, body);
        assert.equal(ok.status, 200);
        assert.equal(ok.json.Response.Error, undefined);
        assert.equal(ok.json.Response.TotalCount, 1);
        assert.match(ok.json.Response.RequestId, /^[0-9a-f-]{36}$/);
        const unsigned = await rawPost(emu.port, headers, body);
        assert.equal(unsigned.status, 200);
        assert.equal(unsigned.json.Response.Error.Code, "AuthFailure.SignatureFailure");
    });

    it("[tencent-emulator] a timestamp more than 300 s off the server's clock is AuthFailure.SignatureExpire", async () => {
        emu.setClockSkew(290);
        await cvm.request("DescribeInstances", {});
        emu.setClockSkew(310);
        assert.equal(await codeOf(cvm.request("DescribeInstances", {})), "AuthFailure.SignatureExpire");
        emu.setClockSkew(-310);
        assert.equal(await codeOf(cvm.request("DescribeInstances", {})), "AuthFailure.SignatureExpire");
    });

    it("[tencent-emulator] an unknown SecretId is AuthFailure.SecretIdNotFound", async () => {
        const stranger = emu.client("cvm", { credential: { secretId: "AKIDnobodyhere", secretKey: emu.credential.secretKey } });
        assert.equal(await codeOf(stranger.request("DescribeInstances", {})), "AuthFailure.SecretIdNotFound");
    });

    it("[tencent-emulator] routes on service, X-TC-Version and X-TC-Action: InvalidAction, NoSuchVersion, UnknownParameter", async () => {
        assert.equal(await codeOf(cvm.request("DescribeNothing", {})), "InvalidAction");
        // CreateSnapshot is CBS's, not CVM's, although both are 2017-03-12.
        assert.equal(await codeOf(cvm.request("CreateSnapshot", { DiskId: one.diskId })), "InvalidAction");
        const oldTat = new CommonClient("tat.tencentcloudapi.com", "2017-03-12", {
            credential: emu.credential, region: emu.region,
            profile: { httpProfile: { endpoint: `tat.${emu.endpoint.domain}`, protocol: "http://", agent: pinnedAgent("127.0.0.1") } },
        });
        assert.equal(await codeOf(oldTat.request("RunCommand", {})), "NoSuchVersion");
        assert.equal(await codeOf(cvm.request("DescribeInstances", { InstanceId: [one.instanceId] })), "UnknownParameter");
        // An endpoint whose first label is not a service signs as service "127": refused, not misrouted.
        const byAddress = new CommonClient("cvm.tencentcloudapi.com", "2017-03-12", {
            credential: emu.credential, region: emu.region, profile: { httpProfile: { endpoint: `127.0.0.1:${emu.port}`, protocol: "http://" } },
        });
        assert.equal(await codeOf(byAddress.request("DescribeInstances", {})), "AuthFailure.SignatureFailure");
        assert.equal(await codeOf(emu.client("cvm", { region: "xx-nowhere" }).request("DescribeInstances", {})), "UnsupportedRegion");
    });

    it("[tencent-emulator] DescribeInstances: exact fields, InstanceIds or Filters, Malformed and NotFound, Limit ≤ 100, regions apart", async () => {
        const r: Res = await cvm.request("DescribeInstances", { InstanceIds: [one.instanceId] });
        assert.equal(r.TotalCount, 1);
        const i = r.InstanceSet[0];
        assert.equal(i.InstanceId, one.instanceId);
        assert.match(i.InstanceId, /^ins-[0-9a-z]{8}$/);
        assert.equal(i.InstanceState, "RUNNING");
        assert.deepEqual(i.SystemDisk, { DiskType: "CLOUD_PREMIUM", DiskId: one.diskId, DiskSize: 50 });
        assert.match(i.SystemDisk.DiskId, /^disk-[0-9a-z]{8}$/);
        assert.deepEqual(i.PrivateIpAddresses, ["198.51.100.10"]);
        assert.deepEqual(i.PublicIpAddresses, ["198.51.100.10"]);
        assert.deepEqual(i.SecurityGroupIds, [one.securityGroupId]);
        assert.match(i.VirtualPrivateCloud.VpcId, /^vpc-/);
        const noPublic = await emu.addInstance(detachedMachine("198.51.100.11", disk), { publicIp: null });
        const byFilter: Res = await cvm.request("DescribeInstances", { Filters: [{ Name: "instance-id", Values: [noPublic.instanceId] }] });
        assert.equal(byFilter.TotalCount, 1);
        assert.equal(byFilter.InstanceSet[0].PublicIpAddresses, null);
        const all: Res = await cvm.request("DescribeInstances", { Limit: 1 });
        assert.equal(all.TotalCount, 2);
        assert.equal(all.InstanceSet.length, 1);
        assert.equal(await codeOf(cvm.request("DescribeInstances", { InstanceIds: [one.instanceId], Filters: [{ Name: "zone", Values: ["x"] }] })), "InvalidParameter");
        assert.equal(await codeOf(cvm.request("DescribeInstances", { InstanceIds: ["ins-TOOLONG123"] })), "InvalidInstanceId.Malformed");
        assert.equal(await codeOf(cvm.request("DescribeInstances", { InstanceIds: ["ins-00000000"] })), "InvalidInstanceId.NotFound");
        assert.equal(await codeOf(cvm.request("DescribeInstances", { Limit: 101 })), "InvalidParameterValue.LimitExceeded");
        assert.equal(await codeOf(cvm.request("DescribeInstances", { Filters: [{ Name: "colour", Values: ["x"] }] })), "InvalidFilter");
        const elsewhere: Res = await emu.client("cvm", { region: "ap-shanghai" }).request("DescribeInstances", {});
        assert.equal(elsewhere.TotalCount, 0);
    });

    it("[tencent-emulator] StopInstances and StartInstances are async (STOPPING→STOPPED, STARTING→RUNNING); no VNC URL when STOPPED", async () => {
        const state = async () => ((await cvm.request("DescribeInstancesStatus", { InstanceIds: [one.instanceId] })) as Res).InstanceStatusSet[0].InstanceState;
        assert.match(((await cvm.request("DescribeInstanceVncUrl", { InstanceId: one.instanceId })) as Res).InstanceVncUrl, /^wss:\/\//);
        assert.equal(await codeOf(cvm.request("StartInstances", { InstanceIds: [one.instanceId] })), "UnsupportedOperation.InstanceStateRunning");
        await cvm.request("StopInstances", { InstanceIds: [one.instanceId] });
        assert.equal(await state(), "STOPPING");
        assert.equal(await codeOf(cvm.request("StopInstances", { InstanceIds: [one.instanceId] })), "UnsupportedOperation.InstanceStateStopping");
        await emu.settle();
        assert.equal(await state(), "STOPPED");
        const described: Res = await cvm.request("DescribeInstances", { InstanceIds: [one.instanceId] });
        assert.equal(described.InstanceSet[0].LatestOperation, "StopInstances");
        assert.equal(described.InstanceSet[0].LatestOperationState, "SUCCESS");
        assert.equal(await codeOf(cvm.request("DescribeInstanceVncUrl", { InstanceId: one.instanceId })), "UnsupportedOperation.InstanceStateStopped");
        await cvm.request("StartInstances", { InstanceIds: [one.instanceId] });
        assert.equal(await state(), "STARTING");
        await emu.settle();
        assert.equal(await state(), "RUNNING");
    });

    it("[tencent-emulator] a snapshot is CREATING with Percent rising, then NORMAL at 100, with its name, times, tags and disk", async () => {
        const { SnapshotId } = await cbs.request("CreateSnapshot", {
            DiskId: one.diskId, SnapshotName: "before", Tags: [{ Key: "by", Value: "sshremedy" }],
            Deadline: new Date(Date.now() + 2 * 86400_000).toISOString(),
        }) as Res;
        assert.match(SnapshotId, /^snap-[0-9a-z]{8}$/);
        fs.writeFileSync(path.join(disk, "etc", "marker"), "after\n");
        const seen: Array<[string, number]> = [];
        for (let n = 0; n < 40; n++) {
            const r: Res = await cbs.request("DescribeSnapshots", { SnapshotIds: [SnapshotId] });
            const s = r.SnapshotSet[0];
            seen.push([s.SnapshotState, s.Percent]);
            if (s.SnapshotState === "NORMAL") {
                assert.equal(s.Percent, 100);
                assert.equal(s.DiskId, one.diskId);
                assert.equal(s.SnapshotName, "before");
                assert.match(s.CreateTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
                assert.match(s.DeadlineTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
                assert.deepEqual(s.Tags, [{ Key: "by", Value: "sshremedy" }]);
                break;
            }
            await sleep(100);
        }
        const creating = seen.filter(([st]) => st === "CREATING").map(([, p]) => p);
        assert.ok(creating.length >= 3, `too few CREATING observations: ${JSON.stringify(seen)}`);
        assert.ok(creating.every((p, n) => p < 100 && (n === 0 || p >= creating[n - 1])), `Percent does not rise: ${JSON.stringify(seen)}`);
        assert.ok(creating[creating.length - 1] > creating[0], `Percent does not rise: ${JSON.stringify(seen)}`);
        assert.deepEqual(seen[seen.length - 1], ["NORMAL", 100]);
        const byDisk: Res = await cbs.request("DescribeSnapshots", { Filters: [{ Name: "disk-id", Values: [one.diskId] }, { Name: "snapshot-state", Values: ["NORMAL"] }] });
        assert.deepEqual(byDisk.SnapshotSet.map((s: Res) => s.SnapshotId), [SnapshotId]);
    });

    it("[tencent-emulator] CBS refusals: Deadline under a day, quota, busy disk, no snapshot ability, unknown disk; Delete and Apply only when NORMAL", async () => {
        assert.equal(await codeOf(cbs.request("CreateSnapshot", { DiskId: one.diskId, Deadline: new Date(Date.now() + 3600_000).toISOString() })), "InvalidParameterValue");
        assert.equal(await codeOf(cbs.request("CreateSnapshot", { DiskId: "disk-00000000" })), "InvalidDiskId.NotFound");
        emu.setDiskBusy(one.diskId, true);
        assert.equal(await codeOf(cbs.request("CreateSnapshot", { DiskId: one.diskId })), "InvalidDisk.Busy");
        emu.setDiskBusy(one.diskId, false);
        emu.setDiskSnapshotAbility(one.diskId, false);
        assert.equal(await codeOf(cbs.request("CreateSnapshot", { DiskId: one.diskId })), "InvalidDisk.NotSupportSnapshot");
        emu.setDiskSnapshotAbility(one.diskId, true);
        emu.setSnapshotQuota(1);
        const { SnapshotId } = await cbs.request("CreateSnapshot", { DiskId: one.diskId }) as Res;
        assert.equal(await codeOf(cbs.request("CreateSnapshot", { DiskId: one.diskId })), "InsufficientSnapshotQuota");
        assert.equal(await codeOf(cbs.request("DeleteSnapshots", { SnapshotIds: [SnapshotId] })), "ResourceUnavailable.SnapshotCreating");
        assert.equal(await codeOf(cbs.request("ApplySnapshot", { SnapshotId, DiskId: one.diskId })), "ResourceUnavailable.SnapshotCreating");
        await sleep(1_300);
        // All or nothing: one unknown id, and the known one is not deleted either.
        assert.equal(await codeOf(cbs.request("DeleteSnapshots", { SnapshotIds: [SnapshotId, "snap-00000000"] })), "InvalidSnapshotId.NotFound");
        assert.equal(((await cbs.request("DescribeSnapshots", { SnapshotIds: [SnapshotId] })) as Res).TotalCount, 1);
        await cbs.request("DeleteSnapshots", { SnapshotIds: [SnapshotId] });
        assert.equal(((await cbs.request("DescribeSnapshots", {})) as Res).TotalCount, 0);
    });

    it("[tencent-emulator] ApplySnapshot needs the instance STOPPED (or AutoStopInstance), is ROLLBACKING meanwhile and puts the copy back", async () => {
        const { SnapshotId } = await cbs.request("CreateSnapshot", { DiskId: one.diskId }) as Res;
        fs.writeFileSync(path.join(disk, "etc", "marker"), "after\n");
        fs.writeFileSync(path.join(disk, "etc", "new-file"), "x");
        await sleep(1_300);
        assert.equal(await codeOf(cbs.request("ApplySnapshot", { SnapshotId, DiskId: one.diskId })), "UnsupportedOperation.InstanceNotStopped");
        assert.equal(await codeOf(cbs.request("ApplySnapshot", { SnapshotId, DiskId: one.diskId, AutoStartInstance: true })), "InvalidParameter");
        await cbs.request("ApplySnapshot", { SnapshotId, DiskId: one.diskId, AutoStopInstance: true, AutoStartInstance: true });
        const during: Res = await cbs.request("DescribeSnapshots", { SnapshotIds: [SnapshotId] });
        assert.equal(during.SnapshotSet[0].SnapshotState, "ROLLBACKING");
        assert.equal(((await cbs.request("DescribeDisks", { DiskIds: [one.diskId] })) as Res).DiskSet[0].Rollbacking, true);
        assert.equal(await codeOf(cbs.request("DeleteSnapshots", { SnapshotIds: [SnapshotId] })), "ResourceBusy");
        await emu.settle();
        assert.equal(((await cbs.request("DescribeSnapshots", { SnapshotIds: [SnapshotId] })) as Res).SnapshotSet[0].SnapshotState, "NORMAL");
        assert.equal(fs.readFileSync(path.join(disk, "etc", "marker"), "utf8"), "before\n");
        assert.equal(fs.existsSync(path.join(disk, "etc", "new-file")), false);
        assert.equal(emu.instanceState(one.instanceId), "RUNNING", "AutoStartInstance starts it again");
    });

    it("[tencent-emulator] TAT refusals: Content base64 and ≤ 64 KB, Timeout range, no agent installed", async () => {
        const run = (extra: Res) => tat.request("RunCommand", { Content: Buffer.from("true").toString("base64"), InstanceIds: [one.instanceId], ...extra });
        assert.equal(await codeOf(run({ Content: "e".repeat(64 * 1024 + 4) })), "InvalidParameterValue.TooLong");
        assert.equal(await codeOf(run({ Content: "not base64!" })), "InvalidParameterValue.InvalidContent");
        assert.equal(await codeOf(run({ Timeout: 0 })), "InvalidParameterValue.Range");
        assert.equal(await codeOf(run({ Timeout: 86401 })), "InvalidParameterValue.Range");
        assert.equal(await codeOf(run({ InstanceIds: ["ins-00000000"] })), "ResourceNotFound.InstanceNotFound");
        // A detached machine has no agent: not listed by DescribeAutomationAgentStatus, and RunCommand says so.
        assert.equal(await codeOf(run({})), "ResourceUnavailable.AgentNotInstalled");
        const agents: Res = await tat.request("DescribeAutomationAgentStatus", { InstanceIds: [one.instanceId] });
        assert.deepEqual(agents.AutomationAgentSet, []);
        const tasks: Res = await tat.request("DescribeInvocationTasks", { Filters: [{ Name: "invocation-id", Values: ["inv-00000000"] }] });
        assert.equal(tasks.TotalCount, 0);
        assert.equal(await codeOf(tat.request("DescribeInvocationTasks", { InvocationTaskIds: ["invt-00000000"], Filters: [{ Name: "instance-id", Values: [one.instanceId] }] })),
            "InvalidParameter.ConflictParameter");
    });

    it("[tencent-emulator] security groups: Version string, +1 per change, VersionMismatch after a concurrent writer, DuplicatePolicy, PolicyIndex", async () => {
        const describe = async () => ((await vpc.request("DescribeSecurityGroupPolicies", { SecurityGroupId: one.securityGroupId })) as Res).SecurityGroupPolicySet;
        const first = await describe();
        assert.equal(typeof first.Version, "string");
        assert.deepEqual(first.Ingress.map((p: Res) => [p.PolicyIndex, p.Protocol, p.Port, p.CidrBlock, p.Action]), [[0, "TCP", "22", "0.0.0.0/0", "ACCEPT"]]);
        const drop = { Protocol: "TCP", Port: "22", CidrBlock: "203.0.113.0/24", Action: "DROP", PolicyDescription: "block" };
        await vpc.request("CreateSecurityGroupPolicies", {
            SecurityGroupId: one.securityGroupId, SecurityGroupPolicySet: { Version: first.Version, Ingress: [{ ...drop, PolicyIndex: 0 }] },
        });
        const second = await describe();
        assert.equal(Number(second.Version), Number(first.Version) + 1);
        assert.deepEqual(second.Ingress.map((p: Res) => [p.PolicyIndex, p.Action]), [[0, "DROP"], [1, "ACCEPT"]], "PolicyIndex 0 prepends");
        // Someone else changes the group: the Version the client read is stale.
        await emu.changeSecurityGroup(one.securityGroupId, "Ingress", { add: [{ Protocol: "UDP", Port: "53", CidrBlock: "10.0.0.0/8", Action: "ACCEPT" }] });
        assert.equal(await codeOf(vpc.request("CreateSecurityGroupPolicies", {
            SecurityGroupId: one.securityGroupId,
            SecurityGroupPolicySet: { Version: second.Version, Ingress: [{ Protocol: "TCP", Port: "80", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }] },
        })), "UnsupportedOperation.VersionMismatch");
        const third = await describe();
        assert.equal(Number(third.Version), Number(second.Version) + 1);
        assert.equal(third.Ingress[2].Port, "53", "without PolicyIndex, a policy is appended");
        assert.equal(await codeOf(vpc.request("CreateSecurityGroupPolicies", {
            SecurityGroupId: one.securityGroupId, SecurityGroupPolicySet: { Ingress: [{ ...drop, PolicyDescription: "again" }] },
        })), "UnsupportedOperation.DuplicatePolicy");
        assert.equal(await codeOf(vpc.request("CreateSecurityGroupPolicies", {
            SecurityGroupId: one.securityGroupId, SecurityGroupPolicySet: { Ingress: [{ Protocol: "ICMP", Port: "22", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }] },
        })), "InvalidParameterValue");
        assert.equal(await codeOf(vpc.request("CreateSecurityGroupPolicies", {
            SecurityGroupId: one.securityGroupId,
            SecurityGroupPolicySet: { Ingress: [{ ...drop, Port: "23" }], Egress: [{ Protocol: "ALL", CidrBlock: "10.0.0.0/8", Action: "DROP" }] },
        })), "InvalidParameter.Coexist");
        assert.equal(await codeOf(vpc.request("DescribeSecurityGroupPolicies", { SecurityGroupId: "sg-00000000" })), "InvalidSecurityGroupID.NotFound");
        // Delete by exact match and by index; each a change of its own.
        await vpc.request("DeleteSecurityGroupPolicies", {
            SecurityGroupId: one.securityGroupId, SecurityGroupPolicySet: { Version: third.Version, Ingress: [{ Protocol: "TCP", Port: "22", CidrBlock: "203.0.113.0/24", Action: "DROP" }] },
        });
        await vpc.request("DeleteSecurityGroupPolicies", { SecurityGroupId: one.securityGroupId, SecurityGroupPolicySet: { Ingress: [{ PolicyIndex: 1 }] } });
        const last = await describe();
        assert.equal(Number(last.Version), Number(third.Version) + 2);
        assert.deepEqual(last.Ingress.map((p: Res) => [p.PolicyIndex, p.Port]), [[0, "22"]]);
    });

    it("[tencent-emulator] LimitExceeded.SecurityGroupPolicySet beyond the group's policy limit", async () => {
        const small = await startEmulator({ firewall: false, dataDir: path.join(path.dirname(disk), "small"), policyLimit: 2 });
        try {
            const inst = await small.addInstance(detachedMachine("198.51.100.20", disk));
            const client = small.client("vpc");
            await client.request("CreateSecurityGroupPolicies", {
                SecurityGroupId: inst.securityGroupId, SecurityGroupPolicySet: { Ingress: [{ Protocol: "TCP", Port: "80", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }] },
            });
            assert.equal(await codeOf(client.request("CreateSecurityGroupPolicies", {
                SecurityGroupId: inst.securityGroupId, SecurityGroupPolicySet: { Ingress: [{ Protocol: "TCP", Port: "443", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }] },
            })), "LimitExceeded.SecurityGroupPolicySet");
        } finally {
            await small.close();
        }
    });

    it("[tencent-emulator] more than 20 calls of one action in a second are RequestLimitExceeded; calls are counted per action", async () => {
        emu.resetCalls();
        const results = await Promise.all(Array.from({ length: 25 }, () => codeOf(cvm.request("DescribeInstancesStatus", {}))));
        assert.equal(results.filter((c) => c === "no error").length, 20);
        assert.equal(results.filter((c) => c === "RequestLimitExceeded").length, 5);
        await cbs.request("DescribeSnapshots", {});
        assert.deepEqual(emu.callCounts(), { "cvm.DescribeInstancesStatus": 25, "cbs.DescribeSnapshots": 1 });
        await sleep(1_100);
        await cvm.request("DescribeInstancesStatus", {});
    });

    it("[tencent-emulator] the endpoint setting reaches the emulator through the SDK (service name kept, loopback address pinned)", async () => {
        const ep = emu.endpoint;
        assert.deepEqual(ep, { domain: `tencentcloudapi.test:${emu.port}`, protocol: "http", address: "127.0.0.1" });
        const c = commonClient(ep, "cvm", { secretId: emu.credential.secretId, secretKey: emu.credential.secretKey, region: emu.region });
        const r: Res = await c.request("DescribeInstances", { InstanceIds: [one.instanceId] });
        assert.equal(r.InstanceSet[0].InstanceId, one.instanceId);
        assert.match(r.RequestId, /^[0-9a-f-]{36}$/);
    });
});
