import { strict as assert } from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    backoffMs, call, classifyFailure, isTencentApiError, redact, resetTencentCallCounts, tencentApiError, tencentCallCounts,
} from "../../components/tencent/api";
import { checkEndpoint, parseEndpointConfig, resolveTencentSettings, TencentSettings } from "../../components/tencent/settings";
import { admitLogin, planAdmission, portMatches, removeOwn, SecurityGroupPolicy } from "../../components/tencent/security-group";
import {
    isTatUnreachableError, libraryInstallScripts, libraryRunScript, runTat, taskResult, tatContent, tatContentLimit,
} from "../../components/tencent/tat";
import { createSnapshot, rollbackDisk, snapshotDeadline, systemDiskOf, waitSnapshot } from "../../components/tencent/cbs";
import { detachedMachine, Machine, startEmulator, TencentEmulator } from "../emulator";

/** The value of an Output once the engine would have it. */
function settle<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

const secretKey = "SK-unit-0123456789abcdefSECRET";
const secretId = "AKIDunit0123456789";

describe("Tencent client: settings and credentials", () => {
    const envKeys = ["TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_REGION", "TENCENTCLOUD_SECURITY_TOKEN"];
    const savedEnv: Record<string, string | undefined> = {};
    let savedConfig: Record<string, string> = {};
    before(() => {
        savedConfig = pulumi.runtime.allConfig();
        pulumi.runtime.setMocks({
            newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }),
            call: () => ({}),
        }, "sshremedy", "unit", true);
        for (const k of envKeys) savedEnv[k] = process.env[k];
    });
    afterEach(() => {
        for (const k of envKeys) {
            if (savedEnv[k] === undefined) delete process.env[k];
            else process.env[k] = savedEnv[k];
        }
        pulumi.runtime.setAllConfig(savedConfig, []);
    });

    it("[tencent-secrets] resolves config before the environment, as one secret Output", async () => {
        process.env.TENCENTCLOUD_SECRET_ID = "AKIDfromenv";
        process.env.TENCENTCLOUD_SECRET_KEY = "key-from-env";
        process.env.TENCENTCLOUD_REGION = "ap-singapore";
        pulumi.runtime.setAllConfig({
            "tencentcloud:secretId": secretId,
            "tencentcloud:secretKey": secretKey,
            "sshremedy:tencentEndpoint": JSON.stringify({ domain: "tencentcloudapi.internal:8443", protocol: "http", address: "127.0.0.1" }),
        }, ["tencentcloud:secretKey"]);
        const out = resolveTencentSettings();
        assert.equal(await pulumi.isSecret(out), true, "the settings are not a secret Output");
        const s = await settle(out);
        assert.equal(s.secretId, secretId);
        assert.equal(s.secretKey, secretKey);
        assert.equal(s.region, "ap-singapore", "the region falls back to the environment");
        assert.deepEqual(s.endpoint, { domain: "tencentcloudapi.internal:8443", protocol: "http", address: "127.0.0.1" });
        assert.equal(s.securityToken, undefined);
    });

    it("[tencent-secrets] program arguments win, the environment alone is enough, and the key stays secret", async () => {
        process.env.TENCENTCLOUD_SECRET_ID = "AKIDfromenv";
        process.env.TENCENTCLOUD_SECRET_KEY = "key-from-env";
        process.env.TENCENTCLOUD_REGION = "ap-singapore";
        process.env.TENCENTCLOUD_SECURITY_TOKEN = "token-from-env";
        const fromEnv = await settle(resolveTencentSettings());
        assert.deepEqual(fromEnv, { secretId: "AKIDfromenv", secretKey: "key-from-env", region: "ap-singapore", securityToken: "token-from-env" });
        const out = resolveTencentSettings({ region: pulumi.output("ap-tokyo"), secretKey: "key-from-args" });
        assert.equal(await pulumi.isSecret(out), true);
        const s = await settle(out);
        assert.equal(s.region, "ap-tokyo");
        assert.equal(s.secretKey, "key-from-args");
        // The environment's token belongs to the environment's key, not to this one.
        assert.equal(s.securityToken, undefined);
    });

    it("[tencent-secrets] missing credentials name the config keys and environment variables to set, never a value", () => {
        delete process.env.TENCENTCLOUD_SECRET_ID;
        delete process.env.TENCENTCLOUD_SECRET_KEY;
        delete process.env.TENCENTCLOUD_REGION;
        assert.throws(() => resolveTencentSettings(), /tencentcloud:secretId.*TENCENTCLOUD_SECRET_ID/);
        process.env.TENCENTCLOUD_SECRET_ID = secretId;
        assert.throws(() => resolveTencentSettings(), (e: Error) => {
            assert.match(e.message, /pulumi config set --secret tencentcloud:secretKey/);
            assert.match(e.message, /TENCENTCLOUD_SECRET_KEY/);
            assert.ok(!e.message.includes(secretId));
            return true;
        });
        process.env.TENCENTCLOUD_SECRET_KEY = secretKey;
        assert.throws(() => resolveTencentSettings(), /tencentcloud:region.*TENCENTCLOUD_REGION/);
    });

    it("reads the endpoint setting as JSON, an object or a bare domain, and refuses bad ones", () => {
        assert.deepEqual(parseEndpointConfig("internal.tencentcloudapi.com"), { domain: "internal.tencentcloudapi.com", protocol: "https" });
        assert.deepEqual(parseEndpointConfig('{"domain":"tencentcloudapi.internal:8443","protocol":"http","address":"10.0.0.5"}'),
            { domain: "tencentcloudapi.internal:8443", protocol: "http", address: "10.0.0.5" });
        assert.equal(parseEndpointConfig(undefined), undefined);
        assert.throws(() => parseEndpointConfig("https://cvm.tencentcloudapi.com/"), /domain: expected a domain/);
        assert.throws(() => checkEndpoint({ domain: "x.com", protocol: "ftp" }), /protocol/);
        assert.throws(() => checkEndpoint({ domain: "x.com", address: "localhost" }), /address: expected an IPv4 or IPv6 address/);
        assert.throws(() => checkEndpoint({ domain: "x.com", adress: "10.0.0.1" }), /unknown field\(s\) adress/);
    });
});

describe("Tencent client: API failures (pure)", () => {
    it("[tencent-retry] retries throttling, busy and in-use codes with their sub-codes, and nothing else the API answers", () => {
        const api = (code: string) => classifyFailure(Object.assign(new Error("m"), { code, requestId: "r-1" }));
        for (const code of ["RequestLimitExceeded", "RequestLimitExceeded.UinLimitExceeded", "ResourceBusy", "ResourceInUse",
            "ResourceInUse.DiskRollbacking"]) {
            assert.equal(api(code).retry, true, code);
        }
        for (const code of ["InternalError", "ResourceUnavailable.AgentStatusNotOnline", "ResourceUnavailable.TooManyCreatingSnapshot",
            "FailedOperation", "AuthFailure.SignatureFailure", "InvalidParameter", "ResourceBusyness", "UnsupportedOperation.VersionMismatch",
            "ResourceInsufficient.OverQuota"]) {
            assert.equal(api(code).retry, false, code);
        }
    });

    it("[tencent-retry] network failures are retried; those that never reached the API are not ambiguous", () => {
        const sdk = (message: string) => classifyFailure(Object.assign(new Error(message), { requestId: "" }));
        const refused = sdk("request to http://cvm.x:1/ failed, reason: connect ECONNREFUSED 127.0.0.1:1");
        assert.deepEqual([refused.kind, refused.retry, refused.kind === "network" && refused.ambiguous], ["network", true, false]);
        const timeout = sdk("network timeout at: http://cvm.x:1/");
        assert.deepEqual([timeout.retry, timeout.kind === "network" && timeout.ambiguous], [true, true]);
        const tls = sdk("request to https://cvm.x/ failed, reason: self-signed certificate");
        assert.equal(tls.retry, false);
        const http = (status: number) => classifyFailure(Object.assign(new Error("Bad Gateway"), { httpCode: status }));
        assert.equal(http(503).retry, true);
        assert.equal(http(502).retry, true);
        assert.equal(http(404).retry, false);
        assert.equal(http(500).retry, false);
    });

    it("[tencent-retry] backs off exponentially with jitter, capped", () => {
        assert.equal(backoffMs(1, 500, 8000, () => 0), 250);
        assert.equal(backoffMs(1, 500, 8000, () => 1), 500);
        assert.equal(backoffMs(3, 500, 8000, () => 1), 2000);
        assert.equal(backoffMs(10, 500, 8000, () => 1), 8000);
        const spread = new Set(Array.from({ length: 20 }, () => backoffMs(4, 500, 8000)));
        assert.ok(spread.size > 1, "no jitter");
    });

    it("[tencent-secrets] errors carry code and request id, and credential text is removed from messages", () => {
        const s: TencentSettings = { secretId, secretKey, securityToken: "TOKEN-abcdef", region: "ap-guangzhou" };
        const text = redact(`The SecretId ${secretId} with key ${secretKey} and token TOKEN-abcdef is wrong`, s);
        assert.ok(!text.includes(secretId) && !text.includes(secretKey) && !text.includes("TOKEN-abcdef"), text);
        const e = tencentApiError({ service: "cvm", action: "DescribeInstances", code: "AuthFailure.SecretIdNotFound",
            requestId: "req-1", detail: text, attempts: 1, transient: false });
        assert.match(e.message, /cvm:DescribeInstances failed: AuthFailure\.SecretIdNotFound: .*request id req-1/);
    });
});

describe("Tencent client: security group planning (pure)", () => {
    const rule = (index: number, action: "ACCEPT" | "DROP", cidr: string, port = "ALL", protocol = "ALL", description = ""): SecurityGroupPolicy =>
        ({ PolicyIndex: index, Action: action, CidrBlock: cidr, Port: port, Protocol: protocol, PolicyDescription: description });

    it("[sg] reads Port as ALL, a port, a range or a list", () => {
        assert.equal(portMatches("ALL", 22), "yes");
        assert.equal(portMatches(undefined, 22), "yes");
        assert.equal(portMatches("22", 22), "yes");
        assert.equal(portMatches("2222", 22), "no");
        assert.equal(portMatches("1-1024", 22), "yes");
        assert.equal(portMatches("23-1024", 22), "no");
        assert.equal(portMatches("80,22", 22), "yes");
        assert.equal(portMatches("80, 8000-8010", 22), "no");
        assert.equal(portMatches("ssh", 22), "maybe");
    });

    it("[sg] changes nothing when an ACCEPT rule admits every source ahead of any DROP", () => {
        const plan = planAdmission([
            rule(0, "ACCEPT", "198.18.0.0/16", "22", "TCP"),
            rule(1, "ACCEPT", "10.0.0.0/8", "1-1024", "tcp"),
            rule(2, "DROP", "0.0.0.0/0"),
        ], { sources: ["198.18.0.1", "10.1.0.0/16"], port: 22, owner: "stack/web-1" });
        assert.deepEqual(plan.rules, []);
        assert.deepEqual(plan.admitted, ["198.18.0.1", "10.1.0.0/16"]);
    });

    it("[sg] inserts the missing sources ahead of the first DROP that would catch them, marked as its own", () => {
        const plan = planAdmission([
            rule(0, "ACCEPT", "203.0.113.0/24", "22", "TCP"),
            rule(1, "DROP", "192.0.2.0/24", "22", "TCP"), // another source: no concern
            rule(2, "DROP", "198.18.0.0/15", "ALL", "UDP"), // another protocol
            rule(3, "DROP", "198.18.0.0/15", "3389", "TCP"), // another port
            rule(4, "ACCEPT", "198.18.0.1", "22,80", "TCP"), // admits the first source
            rule(5, "DROP", "198.18.0.0/15", "1-65535", "TCP"), // catches the second
            rule(6, "ACCEPT", "198.18.0.5", "22", "TCP"), // too late for it
        ], { sources: ["198.18.0.1", "198.18.0.5", "198.18.0.1"], port: 22, owner: "stack/web-1" });
        assert.deepEqual(plan.admitted, ["198.18.0.1"]);
        assert.deepEqual(plan.missing, [{ source: "198.18.0.5", blockedAt: 5 }]);
        assert.equal(plan.insertAt, 5);
        assert.deepEqual(plan.rules, [{ Protocol: "TCP", Port: "22", CidrBlock: "198.18.0.5", Action: "ACCEPT",
            PolicyDescription: "sshremedy:stack/web-1", PolicyIndex: 5 }]);
    });

    it("[sg] appends when only the implicit drop stops a source, and prepends ahead of a DROP it cannot read", () => {
        const none = planAdmission([rule(0, "ACCEPT", "10.0.0.0/8", "22", "TCP")], { sources: ["198.18.0.1"], port: 22, owner: "o" });
        assert.equal(none.insertAt, undefined);
        assert.equal(none.rules[0].PolicyIndex, undefined);
        // A DROP by address template (unknown addresses) could catch the source: insert ahead of it.
        const template = planAdmission([
            { PolicyIndex: 0, Action: "DROP", Protocol: "TCP", Port: "22", AddressTemplate: { AddressId: "ipm-1" } },
            rule(1, "ACCEPT", "0.0.0.0/0", "22", "TCP"),
        ], { sources: ["198.18.0.1"], port: 22, owner: "o" });
        assert.equal(template.insertAt, 0);
        // An ACCEPT that covers only part of a source does not admit it; a DROP of part of it catches it.
        const partial = planAdmission([
            rule(0, "ACCEPT", "198.18.0.1/32", "22", "TCP"),
            rule(1, "DROP", "198.18.0.128/25", "22", "TCP"),
        ], { sources: ["198.18.0.0/24"], port: 22, owner: "o" });
        assert.deepEqual(partial.missing, [{ source: "198.18.0.0/24", blockedAt: 1 }]);
        // IPv6 sources go in Ipv6CidrBlock; IPv4 rules do not concern them.
        const v6 = planAdmission([rule(0, "DROP", "0.0.0.0/0")], { sources: ["2001:db8::/32"], port: 22, owner: "o" });
        assert.deepEqual(v6.rules[0], { Protocol: "TCP", Port: "22", Ipv6CidrBlock: "2001:db8::/32", Action: "ACCEPT", PolicyDescription: "sshremedy:o" });
    });

    it("[sg] refuses a source with host bits and an owner that does not fit a description", () => {
        assert.throws(() => planAdmission([], { sources: ["10.0.0.1/8"], port: 22, owner: "o" }), /host bits zero/);
        assert.throws(() => planAdmission([], { sources: ["10.0.0.1"], port: 22, owner: "a b" }), /owner/);
    });
});

describe("Tencent client: TAT and CBS payloads (pure)", () => {
    it("[tat] refuses a script over 64 KB of base64 before anything is sent, naming the sizes", () => {
        assert.equal(tatContent("echo hi\n"), Buffer.from("echo hi\n").toString("base64"));
        assert.doesNotThrow(() => tatContent("x".repeat(49_152)));
        assert.throws(() => tatContent("x".repeat(49_153)), /49153 bytes, 65540 bytes in base64; .*limited to 65536 .*runTatLarge/);
    });

    it("[tat] splits a large script into install chunks that each fit one RunCommand", () => {
        // Bytes that base64 worst: every chunk at its full size.
        const script = `#!/bin/sh\n${"echo 'ünïcödé'\n".repeat(20_000)}`;
        const { sha256, chunks } = libraryInstallScripts(script);
        assert.equal(chunks.length, Math.ceil(Buffer.byteLength(script) / (32 * 1024)));
        for (const c of chunks) {
            assert.ok(tatContent(c).length <= tatContentLimit);
        }
        assert.match(chunks.at(-1)!, new RegExp(`sha256sum .*${sha256}`));
        assert.match(libraryRunScript(sha256), new RegExp(`/var/lib/sshremedy/lib/${sha256}\\.sh`));
    });

    it("[tat] maps task statuses to results: exit codes, killed commands, dropped output", () => {
        const out = Buffer.from("partial output\n").toString("base64");
        const ok = taskResult("inv-1", { TaskStatus: "SUCCESS", TaskResult: { ExitCode: 0, Output: out, Dropped: 0 } });
        assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, "partial output\n", ""]);
        const failed = taskResult("inv-1", { TaskStatus: "FAILED", TaskResult: { ExitCode: 3, Output: out, Dropped: 0 } });
        assert.deepEqual([failed.code, failed.stderr], [3, ""]);
        const timeout = taskResult("inv-1", { TaskStatus: "TIMEOUT", TaskResult: { ExitCode: -1, Output: out, Dropped: 10 } });
        assert.equal(timeout.code, null);
        assert.match(timeout.stderr, /TAT task TIMEOUT: the command ran past its timeout/);
        assert.match(timeout.stderr, /10 bytes were dropped/);
        assert.match(timeout.stderr, /partial output/);
        const undelivered = taskResult("inv-1", { TaskStatus: "DELIVER_FAILED", ErrorInfo: "agent gone" });
        assert.deepEqual([undelivered.code, undelivered.status], [null, "DELIVER_FAILED"]);
        assert.match(undelivered.stderr, /agent gone/);
    });

    it("[cbs-wait] a snapshot's Deadline is ISO-8601 UTC, retention days ahead, never under a day", () => {
        assert.equal(snapshotDeadline(new Date("2026-12-02T10:20:30.456Z"), 7), "2026-12-09T10:21:31Z");
        assert.throws(() => snapshotDeadline(new Date(), 0), /at least 1/);
    });
});

/** Loads a function serialised by Pulumi the way its dynamic provider host does: a module compiled from the text. */
function loadSerialised<T>(s: { text: string; exportName: string }): T {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Module = require("module") as { new(id: string): NodeModule & { _compile(code: string, file: string): void };
        _nodeModulePaths(dir: string): string[] };
    const m = new Module("serialised-provider.js");
    m.filename = "serialised-provider.js";
    m.paths = Module._nodeModulePaths(process.cwd());
    m._compile(s.text, m.filename);
    return (m.exports as Record<string, T>)[s.exportName];
}

describe("Tencent client: inside a dynamic provider", () => {
    it("[tencent-secrets] serialises by value with no client or credential captured, and runs from the serialised text", async () => {
        const { call } = await import("../../components/tencent/api");
        const { runTatLarge } = await import("../../components/tencent/tat");
        const { admitLogin, removeOwn } = await import("../../components/tencent/security-group");
        const { createSnapshot, rollbackDisk, systemDiskOf, waitSnapshot } = await import("../../components/tencent/cbs");
        // A call first: the process now holds an SDK client made with the key.
        const s: TencentSettings = { secretId, secretKey, region: "ap-guangzhou",
            endpoint: { domain: "tencentcloudapi.test:1", protocol: "http", address: "127.0.0.1" }, retry: { maxAttempts: 1 } };
        await assert.rejects(call(s, "cvm", "DescribeInstances", {}), /network error: .*ECONNREFUSED/);
        const provider = {
            async create(inputs: { settings: TencentSettings; instanceId: string; script: string }) {
                const disk = await systemDiskOf(inputs.settings, inputs.instanceId);
                const snap = await createSnapshot(inputs.settings, { diskId: disk.diskId, name: "x" });
                await waitSnapshot(inputs.settings, snap);
                await admitLogin(inputs.settings, { securityGroupId: "sg-1", sources: ["198.18.0.1"], port: 22, owner: "o" });
                const r = await runTatLarge(inputs.settings, { instanceId: inputs.instanceId, script: inputs.script, timeoutSec: 60 });
                await removeOwn(inputs.settings, { securityGroupId: "sg-1", owner: "o" });
                await rollbackDisk(inputs.settings, { instanceId: inputs.instanceId, diskId: disk.diskId, snapshotId: snap });
                return { id: r.invocationId, outs: {} };
            },
        };
        // As Pulumi serialises a dynamic provider, and its host loads it (`.handler()`).
        const serialised = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
        assert.ok(!serialised.text.includes(secretKey), "the key is in the serialised provider");
        assert.ok(!serialised.text.includes(secretId), "the secret id is in the serialised provider");
        assert.match(serialised.text, /require\("tencentcloud-sdk-nodejs-common"\)/);
        const loaded = loadSerialised<() => typeof provider>(serialised)();
        await assert.rejects(loaded.create({ settings: s, instanceId: "ins-1", script: "true" }), (e: Error) => {
            assert.equal(e.name, "TencentApiError", e.stack);
            assert.match(e.message, /cvm:DescribeInstances failed: network error: .*ECONNREFUSED/);
            return true;
        });
    });
});

/** A TCP relay to the emulator that can cut the next connections as soon as they are made. */
class FlakyRelay {
    cutNext = 0;
    accepted = 0;
    private readonly server: net.Server;
    private readonly sockets = new Set<net.Socket>();

    constructor(private readonly targetPort: number) {
        this.server = net.createServer((client) => {
            this.accepted++;
            this.sockets.add(client);
            client.on("close", () => this.sockets.delete(client));
            client.on("error", () => undefined);
            if (this.cutNext > 0) {
                this.cutNext--;
                // Once the request is in: the client cannot know whether it was acted on.
                client.once("data", () => client.resetAndDestroy());
                return;
            }
            const upstream = net.connect(this.targetPort, "127.0.0.1");
            this.sockets.add(upstream);
            upstream.on("close", () => this.sockets.delete(upstream));
            upstream.on("error", () => client.destroy());
            client.pipe(upstream).pipe(client);
        });
    }

    listen(): Promise<number> {
        return new Promise((resolve) => this.server.listen(0, "127.0.0.1", () => resolve((this.server.address() as net.AddressInfo).port)));
    }

    close(): Promise<void> {
        for (const s of this.sockets) s.destroy();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}

describe("Tencent client against the emulator (no hosts)", function () {
    this.timeout(60_000);
    const tokenCredential = { secretId: "AKIDtemporary0123456789", secretKey: "temporary-key-0123456789abcdef", token: "sts-token-0123456789" };
    let emu: TencentEmulator;
    let diskDir: string;
    let instance: { instanceId: string; diskId: string; securityGroupId: string };
    let settings: TencentSettings;

    const calls = (action: string) => emu.calls.filter((c) => c.action === action);

    before(async () => {
        emu = await startEmulator({
            firewall: false,
            credentials: [{ secretId, secretKey }, tokenCredential],
            latency: { snapshotMs: 1200, rollbackMs: 200, stopMs: 50, startMs: 50, taskDeliveryMs: 50 },
        });
        diskDir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-tencent-disk-"));
        fs.writeFileSync(path.join(diskDir, "marker"), "before\n");
        instance = await emu.addInstance(detachedMachine("198.18.255.2", diskDir), {
            ingress: [
                { Protocol: "TCP", Port: "22", CidrBlock: "203.0.113.0/24", Action: "ACCEPT", PolicyDescription: "office" },
                { Protocol: "ALL", CidrBlock: "0.0.0.0/0", Action: "DROP", PolicyDescription: "deny the rest" },
            ],
        });
        settings = { secretId, secretKey, region: emu.region, endpoint: emu.endpoint, retry: { baseDelayMs: 50, maxDelayMs: 400 } };
    });
    after(async () => {
        await emu?.close();
        fs.rmSync(diskDir, { recursive: true, force: true });
    });
    beforeEach(() => {
        emu.resetCalls();
        resetTencentCallCounts();
    });

    it("[tencent-secrets] reaches the API through the endpoint setting with the real service names", async () => {
        const d = await systemDiskOf(settings, instance.instanceId);
        assert.equal(d.diskId, instance.diskId);
        assert.equal(d.state, "RUNNING");
        assert.deepEqual(d.privateAddresses, ["198.18.255.2"]);
        assert.deepEqual(d.securityGroupIds, [instance.securityGroupId]);
        assert.deepEqual(emu.calls.map((c) => `${c.service}.${c.action}:${c.error ?? "ok"}`), ["cvm.DescribeInstances:ok"]);
        assert.deepEqual(tencentCallCounts().byAction, { "cvm:DescribeInstances": 1 });
    });

    it("[tencent-secrets] a wrong key fails with the API's code and request id, and the message holds no credential", async () => {
        const wrong = { ...settings, secretKey: "wrong-key-0123456789abcdef" };
        await assert.rejects(systemDiskOf(wrong, instance.instanceId), (e: Error) => {
            assert.ok(isTencentApiError(e));
            assert.match(e.code ?? "", /^AuthFailure\./);
            assert.ok(e.requestId, "no request id");
            for (const s of [wrong.secretKey, secretKey, secretId]) assert.ok(!e.message.includes(s), e.message);
            assert.ok(!JSON.stringify(e).includes(wrong.secretKey));
            return true;
        });
        assert.equal(tencentCallCounts().total, 1, "an authentication failure was retried");
    });

    it("[tencent-secrets] temporary credentials send their security token", async () => {
        const temp: TencentSettings = { ...settings, ...tokenCredential, securityToken: tokenCredential.token };
        delete (temp as { token?: string }).token;
        assert.equal((await systemDiskOf(temp, instance.instanceId)).diskId, instance.diskId);
        const { securityToken: _dropped, ...withoutToken } = temp;
        await assert.rejects(systemDiskOf(withoutToken, instance.instanceId), (e: Error) =>
            isTencentApiError(e) && /^AuthFailure/.test(e.code ?? "") && !e.message.includes(tokenCredential.secretKey));
    });

    it("[tencent-retry] throttled calls are retried with backoff until they pass", async () => {
        emu.setRateLimit(2);
        const patient: TencentSettings = { ...settings, retry: { maxAttempts: 8, baseDelayMs: 250, maxDelayMs: 2000 } };
        try {
            const all = await Promise.all(Array.from({ length: 6 }, () => systemDiskOf(patient, instance.instanceId)));
            assert.ok(all.every((d) => d.diskId === instance.diskId));
        } finally {
            emu.setRateLimit(20);
        }
        const throttled = calls("DescribeInstances").filter((c) => c.error === "RequestLimitExceeded").length;
        assert.ok(throttled > 0, "the emulator throttled nothing");
        assert.equal(tencentCallCounts().retries, throttled);
    });

    it("[tencent-retry] nothing else the API answers is retried: a busy disk, an expired signature", async () => {
        emu.setDiskBusy(instance.diskId, true);
        try {
            await assert.rejects(createSnapshot(settings, { diskId: instance.diskId, name: "busy" }), (e: Error) =>
                isTencentApiError(e) && e.code === "InvalidDisk.Busy" && e.attempts === 1);
        } finally {
            emu.setDiskBusy(instance.diskId, false);
        }
        emu.setClockSkew(900);
        try {
            await assert.rejects(systemDiskOf(settings, instance.instanceId), (e: Error) =>
                isTencentApiError(e) && e.code === "AuthFailure.SignatureExpire");
        } finally {
            emu.setClockSkew(0);
        }
        assert.deepEqual(tencentCallCounts().byAction, { "cbs:CreateSnapshot": 1, "cvm:DescribeInstances": 1 });
    });

    it("[tencent-retry] network failures are retried; one that may have reached the API is not, for RunCommand", async () => {
        const relay = new FlakyRelay(emu.port);
        const port = await relay.listen();
        try {
            const viaRelay: TencentSettings = { ...settings, endpoint: { ...emu.endpoint, domain: `tencentcloudapi.test:${port}` } };
            relay.cutNext = 2;
            assert.equal((await systemDiskOf(viaRelay, instance.instanceId)).diskId, instance.diskId);
            assert.equal(tencentCallCounts().byAction["cvm:DescribeInstances"], 3);
            assert.equal(calls("DescribeInstances").length, 1);
            relay.cutNext = 1;
            await assert.rejects(call(viaRelay, "tat", "RunCommand", { Content: "dHJ1ZQo=", InstanceIds: [instance.instanceId] },
                { retryAmbiguous: false }), (e: Error) => isTencentApiError(e) && e.code === undefined && e.attempts === 1);
            assert.equal(calls("RunCommand").length, 0);
        } finally {
            await relay.close();
        }
        // Refused connections never reached anything: retried up to the last attempt, RunCommand too.
        const closed: TencentSettings = { ...settings, endpoint: { ...emu.endpoint, domain: `tencentcloudapi.test:${port}` }, retry: { maxAttempts: 3, baseDelayMs: 10 } };
        await assert.rejects(call(closed, "tat", "RunCommand", { Content: "dHJ1ZQo=", InstanceIds: [instance.instanceId] },
            { retryAmbiguous: false }), (e: Error) => isTencentApiError(e) && e.attempts === 3 && /ECONNREFUSED/.test(e.message));
    });

    it("[cbs-wait] creates a tagged snapshot with a deadline and waits for it, reporting progress", async () => {
        const progress: string[] = [];
        const id = await createSnapshot(settings, { diskId: instance.diskId, name: "sshremedy-unit", tags: { stack: "unit", host: "web-1" }, retentionDays: 3 });
        const snap = await waitSnapshot(settings, id, (percent, state) => progress.push(`${state}:${percent}`), 30_000, { pollMs: 150 });
        assert.deepEqual([snap.state, snap.percent, snap.diskId, snap.name], ["NORMAL", 100, instance.diskId, "sshremedy-unit"]);
        assert.ok(progress.length >= 3, progress.join(" "));
        assert.match(progress[0], /^CREATING:/);
        assert.equal(progress.at(-1), "NORMAL:100");
        const percents = progress.map((p) => Number(p.split(":")[1]));
        assert.deepEqual(percents, [...percents].sort((a, b) => a - b), "progress went backwards");
        const created = calls("CreateSnapshot")[0].params as { Deadline: string; Tags: unknown[] };
        const days = (Date.parse(created.Deadline) - Date.now()) / 86_400_000;
        assert.ok(days > 3 && days < 3.01, `Deadline ${created.Deadline}`);
        assert.deepEqual(created.Tags, [{ Key: "stack", Value: "unit" }, { Key: "host", Value: "web-1" }]);
        // The shortest retention the API takes (one day) is still a day when the request arrives.
        await waitSnapshot(settings, await createSnapshot(settings, { diskId: instance.diskId, name: "one-day", retentionDays: 1 }),
            undefined, 30_000, { pollMs: 150 });
    });

    it("[cbs-wait] gives up at the timeout with the state and percent, and fails for an unknown snapshot", async () => {
        emu.setLatency({ snapshotMs: 60_000 });
        try {
            const id = await createSnapshot(settings, { diskId: instance.diskId, name: "slow" });
            await assert.rejects(waitSnapshot(settings, id, undefined, 700, { pollMs: 200 }), /still CREATING at \d+% after 1 s/);
        } finally {
            emu.setLatency({ snapshotMs: 1200 });
        }
        await assert.rejects(waitSnapshot(settings, "snap-00000000", undefined, 5000, { pollMs: 100 }), /not listed by DescribeSnapshots/);
    });

    it("[cbs-error] quota, busy, unsupported and unknown disks fail with the API's code and a hint", async () => {
        const expect = async (code: RegExp, hint: RegExp, diskId = instance.diskId) => {
            await assert.rejects(createSnapshot(settings, { diskId, name: "x" }), (e: Error) => {
                assert.ok(isTencentApiError(e), String(e));
                assert.match(e.code ?? "", code);
                assert.match(e.message, hint);
                return true;
            });
        };
        emu.setSnapshotQuota(0);
        try {
            await expect(/^InsufficientSnapshotQuota$/, /quota .* used up: delete snapshots/);
        } finally {
            emu.setSnapshotQuota(64);
        }
        emu.setDiskBusy(instance.diskId, true);
        try {
            await expect(/^InvalidDisk\.Busy$/, /disk is busy .* run again/);
        } finally {
            emu.setDiskBusy(instance.diskId, false);
        }
        emu.setDiskSnapshotAbility(instance.diskId, false);
        try {
            await expect(/^InvalidDisk\.NotSupportSnapshot$/, /cannot be snapshotted/);
        } finally {
            emu.setDiskSnapshotAbility(instance.diskId, true);
        }
        await expect(/^InvalidDiskId\.NotFound$/, /no such disk in this region/, "disk-00000000");
    });

    it("[cbs-rollback] rolls the disk back: stopped, applied, rolled back, started again", async () => {
        const id = await createSnapshot(settings, { diskId: instance.diskId, name: "before-change" });
        fs.writeFileSync(path.join(diskDir, "marker"), "after\n");
        await rollbackDisk(settings, { instanceId: instance.instanceId, diskId: instance.diskId, snapshotId: id, pollMs: 100 });
        assert.equal(emu.instanceState(instance.instanceId), "RUNNING");
        assert.equal(fs.readFileSync(path.join(diskDir, "marker"), "utf8"), "before\n");
        const order = emu.calls.map((c) => c.action).filter((a) => ["StopInstances", "ApplySnapshot", "StartInstances"].includes(a));
        assert.deepEqual(order, ["StopInstances", "ApplySnapshot", "StartInstances"]);
    });

    it("[sg] admits the login ahead of the DROP once, marked as its own; removeOwn takes exactly its rules away", async () => {
        const sg = instance.securityGroupId;
        const before = emu.securityGroup(sg);
        const first = await admitLogin(settings, { securityGroupId: sg, sources: ["198.18.0.1", "203.0.113.7"], port: 22, owner: "unit/web-1" });
        assert.deepEqual([first.changed, first.added, first.insertAt], [true, ["198.18.0.1"], 1]);
        const after = emu.securityGroup(sg);
        assert.equal(after.version, before.version + 1);
        assert.deepEqual(after.Ingress.map((p) => `${p.Action} ${p.Protocol} ${p.Port} ${p.CidrBlock} ${p.PolicyDescription}`), [
            "ACCEPT TCP 22 203.0.113.0/24 office",
            "ACCEPT TCP 22 198.18.0.1 sshremedy:unit/web-1",
            "DROP ALL ALL 0.0.0.0/0 deny the rest",
        ]);
        const again = await admitLogin(settings, { securityGroupId: sg, sources: ["198.18.0.1"], port: 22, owner: "unit/web-1" });
        assert.equal(again.changed, false);
        assert.equal(emu.securityGroup(sg).version, after.version);
        assert.equal(calls("CreateSecurityGroupPolicies").length, 1);
        // Another owner's rule and a foreign one stay when this owner's go.
        await admitLogin(settings, { securityGroupId: sg, sources: ["198.18.0.9"], port: 22, owner: "unit/web-2" });
        assert.deepEqual(await removeOwn(settings, { securityGroupId: sg, owner: "unit/web-1" }), { removed: 1 });
        assert.deepEqual(emu.securityGroup(sg).Ingress.map((p) => p.PolicyDescription), ["office", "sshremedy:unit/web-2", "deny the rest"]);
        assert.deepEqual(await removeOwn(settings, { securityGroupId: sg, owner: "unit/web-2" }), { removed: 1 });
        assert.deepEqual(emu.securityGroup(sg).Ingress, before.Ingress);
    });

    it("[sg-version] a change by someone else between read and write is seen, and the plan is made again", async () => {
        const sg = instance.securityGroupId;
        emu.setLatency({ apiMs: 300 });
        try {
            // As soon as the client has read the group, a colleague inserts a rule at the top.
            let interfered = false;
            const colleague = (async () => {
                while (!emu.calls.some((c) => c.action === "DescribeSecurityGroupPolicies")) await new Promise((r) => setTimeout(r, 5));
                await emu.changeSecurityGroup(sg, "Ingress", { add: [{ Protocol: "TCP", Port: "80", CidrBlock: "0.0.0.0/0", Action: "ACCEPT", PolicyDescription: "web" }], index: 0 });
                interfered = true;
            })();
            const r = await admitLogin(settings, { securityGroupId: sg, sources: ["198.18.0.1"], port: 22, owner: "unit/web-1" });
            await colleague;
            assert.ok(interfered);
            assert.equal(r.insertAt, 2, "planned from the stale read");
            assert.deepEqual(calls("CreateSecurityGroupPolicies").map((c) => c.error ?? "ok"), ["UnsupportedOperation.VersionMismatch", "ok"]);
            assert.deepEqual(emu.securityGroup(sg).Ingress.map((p) => p.PolicyDescription), ["web", "office", "sshremedy:unit/web-1", "deny the rest"]);
            // And while removing: the colleague takes their rule away after the read; the right rule still goes.
            emu.resetCalls();
            const colleague2 = (async () => {
                while (!emu.calls.some((c) => c.action === "DescribeSecurityGroupPolicies")) await new Promise((r) => setTimeout(r, 5));
                await emu.changeSecurityGroup(sg, "Ingress", { remove: [0] });
            })();
            assert.deepEqual(await removeOwn(settings, { securityGroupId: sg, owner: "unit/web-1" }), { removed: 1 });
            await colleague2;
            assert.deepEqual(calls("DeleteSecurityGroupPolicies").map((c) => c.error ?? "ok"), ["UnsupportedOperation.VersionMismatch", "ok"]);
            assert.deepEqual(emu.securityGroup(sg).Ingress.map((p) => p.PolicyDescription), ["office", "deny the rest"]);
        } finally {
            emu.setLatency({ apiMs: 0 });
        }
    });

    it("[tat-offline] an instance without an online agent fails before any command, naming the VNC console and rescue mode", async () => {
        await assert.rejects(runTat(settings, { instanceId: instance.instanceId, script: "true", timeoutSec: 10 }), (e: Error) => {
            assert.ok(isTatUnreachableError(e), String(e));
            assert.equal(e.agentStatus, "not installed");
            assert.match(e.message, /DescribeInstanceVncUrl/);
            assert.match(e.message, /valid once, for 15 s/);
            assert.match(e.message, /img\.qcloud\.com\/qcloud\/app\/active_vnc\/index\.html\?InstanceVncUrl=/);
            assert.match(e.message, /EnterRescueMode/);
            return true;
        });
        assert.equal(calls("RunCommand").length, 0);
    });

    it("[tat-offline] an agent that goes offline after it was seen online is reported the same from RunCommand's code", async () => {
        // An agent that runs nothing: enough to be Online.
        const idle: Machine = Object.assign(detachedMachine("198.18.255.6", diskDir), { consolePrefix: () => ["false"] });
        const other = await emu.addInstance(idle);
        const { ensureAgentOnline } = await import("../../components/tencent/tat");
        await ensureAgentOnline(settings, other.instanceId);
        emu.setAgentOnline(other.instanceId, false);
        await assert.rejects(runTat(settings, { instanceId: other.instanceId, script: "true", timeoutSec: 10 }), (e: Error) =>
            isTatUnreachableError(e) && e.agentStatus === "Offline" && /AgentStatusNotOnline/.test(e.message) && /EnterRescueMode/.test(e.message));
        assert.deepEqual(calls("RunCommand").map((c) => c.error), ["ResourceUnavailable.AgentStatusNotOnline"]);
        // Next time the agent is asked again first, and no command is sent.
        await assert.rejects(runTat(settings, { instanceId: other.instanceId, script: "true", timeoutSec: 10 }), (e: Error) =>
            isTatUnreachableError(e) && e.agentStatus === "Offline");
        assert.equal(calls("RunCommand").length, 1);
    });

    it("[tencent-secrets] the serialised provider runs against the API with settings given as data", async () => {
        const provider = {
            async create(inputs: { settings: TencentSettings; instanceId: string }) {
                const disk = await systemDiskOf(inputs.settings, inputs.instanceId);
                const snap = await createSnapshot(inputs.settings, { diskId: disk.diskId, name: "serialised" });
                await waitSnapshot(inputs.settings, snap, undefined, 30_000, { pollMs: 200 });
                await admitLogin(inputs.settings, { securityGroupId: disk.securityGroupIds[0], sources: ["198.18.0.1"], port: 22, owner: "serialised" });
                await removeOwn(inputs.settings, { securityGroupId: disk.securityGroupIds[0], owner: "serialised" });
                await runTat(inputs.settings, { instanceId: inputs.instanceId, script: "true", timeoutSec: 10 });
                return { id: snap, outs: {} };
            },
        };
        const loaded = loadSerialised<() => typeof provider>(await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true }))();
        await assert.rejects(loaded.create({ settings, instanceId: instance.instanceId }), (e: Error) => e.name === "TatUnreachableError");
        assert.deepEqual([...new Set(emu.calls.map((c) => `${c.action}:${c.error ?? "ok"}`))], [
            "DescribeInstances:ok", "CreateSnapshot:ok", "DescribeSnapshots:ok", "DescribeSecurityGroupPolicies:ok",
            "CreateSecurityGroupPolicies:ok", "DeleteSecurityGroupPolicies:ok", "DescribeAutomationAgentStatus:ok",
        ]);
    });
});
