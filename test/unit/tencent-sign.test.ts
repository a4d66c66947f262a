import { strict as assert } from "assert";
import { IncomingHttpHeaders } from "http";
import Sign from "tencentcloud-sdk-nodejs-common/tencentcloud/common/sign";
import {
    authorization, canonicalRequest, hostWithoutPort, maxClockSkewSeconds, parseAuthorization, signature, utcDate, verify,
} from "../emulator/sign";

/**
 * The emulator's TC3-HMAC-SHA256 against the official SDK's own signer (Sign.sign3 of
 * tencentcloud-sdk-nodejs-common, the function its HTTP layer calls for every request).
 */

const secretId = "AKIDsigntest0123456789abcdef";
const secretKey = "signtest-secret-key-0123456789";

interface Case {
    readonly service: string;
    readonly url: string;
    readonly timestamp: number;
    readonly payload: Record<string, unknown>;
}

const cases: Case[] = [
    { service: "cvm", url: "https://cvm.tencentcloudapi.com/", timestamp: 1_700_000_000, payload: { Limit: 1, Offset: 0 } },
    { service: "cbs", url: "http://cbs.tencentcloudapi.test:40123/", timestamp: 1_735_689_599, payload: { DiskId: "disk-abcdefgh", SnapshotName: "before sshremedy" } },
    { service: "tat", url: "http://tat.tencentcloudapi.test:8443/", timestamp: 1_735_689_600,
        payload: { Content: Buffer.from("echo héllo ✓\n").toString("base64"), InstanceIds: ["ins-0123abcd"], Timeout: 60 } },
    { service: "vpc", url: "https://vpc.tencentcloudapi.com/", timestamp: 1_600_000_123,
        payload: { SecurityGroupId: "sg-abcdefgh", SecurityGroupPolicySet: { Version: "3", Ingress: [{ Protocol: "TCP", Port: "22", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }] } } },
];

/** What the SDK itself sends as Authorization for a POST with a JSON body. */
function sdkAuthorization(c: Case, contentType = "application/json"): string {
    return Sign.sign3({
        method: "POST", url: c.url, payload: c.payload, timestamp: c.timestamp, service: c.service,
        secretId, secretKey, multipart: false, boundary: "", headers: { "Content-Type": contentType },
    });
}

/** The request as the emulator receives it: the body is the SDK's JSON text, the Host header keeps the port. */
function received(c: Case, auth: string, extra: IncomingHttpHeaders = {}): { headers: IncomingHttpHeaders; body: Buffer } {
    const url = new URL(c.url);
    return {
        headers: { "host": url.host, "content-type": "application/json", "x-tc-timestamp": String(c.timestamp), "authorization": auth, ...extra },
        body: Buffer.from(JSON.stringify(c.payload)),
    };
}

function check(c: Case, r: { headers: IncomingHttpHeaders; body: Buffer }, now = c.timestamp, known = secretId) {
    return verify({
        method: "POST", path: "/", query: "", headers: r.headers, body: r.body, now,
        secretKeyOf: (id) => (id === known ? secretKey : undefined),
    });
}

describe("Tencent emulator: TC3-HMAC-SHA256", () => {
    it("[tc3] the emulator's signer gives the SDK's own Authorization on fixed inputs", () => {
        for (const c of cases) {
            const ours = authorization({
                secretId, secretKey, service: c.service, timestamp: c.timestamp, host: new URL(c.url).hostname,
                contentType: "application/json", payload: JSON.stringify(c.payload),
            });
            assert.equal(ours, sdkAuthorization(c), `${c.service} at ${c.timestamp}`);
        }
    });

    it("[tc3] the emulator accepts the SDK's signatures and reads the service from the credential scope", () => {
        for (const c of cases) {
            const r = check(c, received(c, sdkAuthorization(c)));
            assert.deepEqual(r, { ok: true, secretId, service: c.service });
        }
        const parsed = parseAuthorization(sdkAuthorization(cases[1]));
        assert.equal(parsed?.service, "cbs");
        assert.deepEqual(parsed?.signedHeaders, ["content-type", "host"]);
    });

    it("[tc3] the canonical host has no port, while the Host header keeps it", () => {
        const c = cases[1];
        assert.equal(hostWithoutPort("cbs.tencentcloudapi.test:40123"), "cbs.tencentcloudapi.test");
        assert.equal(hostWithoutPort("[::1]:8443"), "[::1]");
        // Signed with the port in the canonical host, the signature is not the SDK's and is refused.
        const withPort = authorization({
            secretId, secretKey, service: c.service, timestamp: c.timestamp, host: new URL(c.url).host,
            contentType: "application/json", payload: JSON.stringify(c.payload),
        });
        assert.notEqual(withPort, sdkAuthorization(c));
        const r = check(c, received(c, withPort));
        assert.equal(r.ok ? "ok" : r.code, "AuthFailure.SignatureFailure");
    });

    it("[tc3] a service in the scope other than the one signed for fails the signature", () => {
        const c = cases[0];
        const forged = sdkAuthorization(c).replace("/cvm/tc3_request", "/cbs/tc3_request");
        const r = check(c, received(c, forged));
        assert.equal(r.ok ? "ok" : r.code, "AuthFailure.SignatureFailure");
    });

    it("[tc3] content-type is signed: another content type fails the signature", () => {
        const c = cases[0];
        assert.equal(check(c, received(c, sdkAuthorization(c))).ok, true);
        const r = check(c, received(c, sdkAuthorization(c), { "content-type": "application/json; charset=utf-8" }));
        assert.equal(r.ok ? "ok" : r.code, "AuthFailure.SignatureFailure");
        const signedForCharset = sdkAuthorization(c, "application/json; charset=utf-8");
        assert.equal(check(c, received(c, signedForCharset, { "content-type": "application/json; charset=utf-8" })).ok, true);
    });

    it("[tc3] the raw body bytes are signed: the same JSON spaced differently fails", () => {
        const c = cases[0];
        const r = received(c, sdkAuthorization(c));
        const respaced = { ...r, body: Buffer.from(JSON.stringify(c.payload, null, 1)) };
        assert.deepEqual(JSON.parse(respaced.body.toString()), c.payload);
        const v = check(c, respaced);
        assert.equal(v.ok ? "ok" : v.code, "AuthFailure.SignatureFailure");
    });

    it("[tc3] every header in SignedHeaders is read from the request", () => {
        const c = cases[0];
        const host = new URL(c.url).hostname;
        const ts = c.timestamp;
        // A client that also signs x-tc-action, computed with the emulator's canonical form.
        const body = JSON.stringify(c.payload);
        const canonical = canonicalRequest({
            method: "POST", path: "/", query: "",
            headers: [["content-type", "application/json"], ["host", host], ["x-tc-action", "describeinstances"]], payload: body,
        });
        const auth = `TC3-HMAC-SHA256 Credential=${secretId}/${utcDate(ts)}/cvm/tc3_request, SignedHeaders=content-type;host;x-tc-action, `
            + `Signature=${signature(secretKey, ts, "cvm", canonical)}`;
        assert.equal(check(c, received(c, auth, { "x-tc-action": "DescribeInstances" })).ok, true);
        const r = check(c, received(c, auth, { "x-tc-action": "StopInstances" }));
        assert.equal(r.ok ? "ok" : r.code, "AuthFailure.SignatureFailure");
    });

    it("[tc3] a timestamp more than 300 s from the server's clock is SignatureExpire", () => {
        const c = cases[2];
        const r = received(c, sdkAuthorization(c));
        assert.equal(check(c, r, c.timestamp + maxClockSkewSeconds).ok, true);
        assert.equal(check(c, r, c.timestamp - maxClockSkewSeconds).ok, true);
        for (const now of [c.timestamp + maxClockSkewSeconds + 1, c.timestamp - maxClockSkewSeconds - 1]) {
            const v = check(c, r, now);
            assert.equal(v.ok ? "ok" : v.code, "AuthFailure.SignatureExpire");
        }
    });

    it("[tc3] an unknown SecretId is SecretIdNotFound; a wrong key or a malformed header are refused", () => {
        const c = cases[3];
        const r = received(c, sdkAuthorization(c));
        const unknown = check(c, r, c.timestamp, "AKIDsomeoneelse");
        assert.equal(unknown.ok ? "ok" : unknown.code, "AuthFailure.SecretIdNotFound");
        const wrongKey = verify({ method: "POST", path: "/", query: "", headers: r.headers, body: r.body, now: c.timestamp, secretKeyOf: () => "another-key" });
        assert.equal(wrongKey.ok ? "ok" : wrongKey.code, "AuthFailure.SignatureFailure");
        const malformed = check(c, received(c, "TC3-HMAC-SHA256 Credential=x, Signature=y"));
        assert.equal(malformed.ok ? "ok" : malformed.code, "AuthFailure.InvalidAuthorization");
    });
});
