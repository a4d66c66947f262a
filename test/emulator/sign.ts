import { createHash, createHmac } from "crypto";
import { IncomingHttpHeaders } from "http";

/**
 * TC3-HMAC-SHA256, the signature of Tencent Cloud API 3.0, written from its public description:
 *
 *   CanonicalRequest = Method \n URI \n Query \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
 *   StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n <UTC date>/<service>/tc3_request \n hex(sha256(CanonicalRequest))
 *   key              = HMAC(HMAC(HMAC("TC3" + SecretKey, date), service), "tc3_request")
 *   Signature        = hex(HMAC(key, StringToSign))
 *
 * Canonical headers are `name:value\n`, names and values lower-cased and trimmed, in the order of
 * SignedHeaders. The host is the bare host name: an endpoint's port is not part of it.
 */

export const algorithm = "TC3-HMAC-SHA256";
/** The largest difference between the request's timestamp and the server's clock. */
export const maxClockSkewSeconds = 300;

export function sha256Hex(data: string | Buffer): string {
    return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
    return createHmac("sha256", key).update(data, "utf8").digest();
}

/** The UTC calendar date of a unix timestamp, as the credential scope spells it (YYYY-MM-DD). */
export function utcDate(timestamp: number): string {
    return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

export interface CanonicalRequestInput {
    readonly method: string;
    readonly path: string;
    readonly query: string;
    /** [lower-case name, value] in SignedHeaders order; values are trimmed and lower-cased here. */
    readonly headers: ReadonlyArray<readonly [string, string]>;
    readonly payload: string | Buffer;
}

export function canonicalRequest(input: CanonicalRequestInput): string {
    const canonicalHeaders = input.headers.map(([n, v]) => `${n.toLowerCase()}:${v.trim().toLowerCase()}\n`).join("");
    const signedHeaders = input.headers.map(([n]) => n.toLowerCase()).join(";");
    return [input.method.toUpperCase(), input.path, input.query, canonicalHeaders, signedHeaders, sha256Hex(input.payload)].join("\n");
}

export function stringToSign(timestamp: number, service: string, canonical: string): string {
    return [algorithm, String(timestamp), `${utcDate(timestamp)}/${service}/tc3_request`, sha256Hex(canonical)].join("\n");
}

export function signature(secretKey: string, timestamp: number, service: string, canonical: string): string {
    const kDate = hmac(`TC3${secretKey}`, utcDate(timestamp));
    const kService = hmac(kDate, service);
    const kSigning = hmac(kService, "tc3_request");
    return createHmac("sha256", kSigning).update(stringToSign(timestamp, service, canonical), "utf8").digest("hex");
}

export interface SignInput {
    readonly secretId: string;
    readonly secretKey: string;
    readonly service: string;
    readonly timestamp: number;
    /** The host name only, without a port. */
    readonly host: string;
    readonly contentType: string;
    readonly payload: string | Buffer;
    readonly method?: string;
    readonly path?: string;
    readonly query?: string;
}

/** The Authorization header value a client sends for a request signed with content-type and host. */
export function authorization(input: SignInput): string {
    const headers: Array<[string, string]> = [["content-type", input.contentType], ["host", input.host]];
    const canonical = canonicalRequest({
        method: input.method ?? "POST",
        path: input.path ?? "/",
        query: input.query ?? "",
        headers,
        payload: input.payload,
    });
    const sig = signature(input.secretKey, input.timestamp, input.service, canonical);
    return `${algorithm} Credential=${input.secretId}/${utcDate(input.timestamp)}/${input.service}/tc3_request, `
        + `SignedHeaders=content-type;host, Signature=${sig}`;
}

export interface ParsedAuthorization {
    readonly secretId: string;
    readonly date: string;
    readonly service: string;
    readonly signedHeaders: readonly string[];
    readonly signature: string;
}

/** Parses `TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=a;b, Signature=<hex>`. */
export function parseAuthorization(header: string): ParsedAuthorization | undefined {
    const m = /^TC3-HMAC-SHA256\s+(.*)$/.exec(header.trim());
    if (!m) {
        return undefined;
    }
    const fields = new Map<string, string>();
    for (const part of m[1].split(",")) {
        const eq = part.indexOf("=");
        if (eq > 0) {
            fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
        }
    }
    const scope = (fields.get("Credential") ?? "").split("/");
    const signedHeaders = (fields.get("SignedHeaders") ?? "").split(";").filter(Boolean);
    const sig = fields.get("Signature") ?? "";
    if (scope.length !== 4 || scope[3] !== "tc3_request" || !scope[0] || !/^\d{4}-\d{2}-\d{2}$/.test(scope[1])
        || !scope[2] || signedHeaders.length === 0 || !/^[0-9a-f]{64}$/.test(sig)) {
        return undefined;
    }
    return { secretId: scope[0], date: scope[1], service: scope[2], signedHeaders, signature: sig };
}

/** The host name of a Host header: without its port, IPv6 brackets kept. */
export function hostWithoutPort(hostHeader: string): string {
    const h = hostHeader.trim();
    if (h.startsWith("[")) {
        const end = h.indexOf("]");
        return end > 0 ? h.slice(0, end + 1) : h;
    }
    const colon = h.lastIndexOf(":");
    return colon >= 0 && /^\d+$/.test(h.slice(colon + 1)) ? h.slice(0, colon) : h;
}

export interface VerifyInput {
    readonly method: string;
    readonly path: string;
    readonly query: string;
    readonly headers: IncomingHttpHeaders;
    /** The body exactly as received. */
    readonly body: Buffer;
    /** The server's clock, unix seconds. */
    readonly now: number;
    /** The secret key of a secret id, undefined when no such id exists. */
    readonly secretKeyOf: (secretId: string) => string | undefined;
}

export type VerifyResult =
    | { readonly ok: true; readonly secretId: string; readonly service: string }
    | { readonly ok: false; readonly code: string; readonly message: string };

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
    const v = headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(",") : v;
}

/**
 * Checks a request's TC3 signature the way the service does. The failure codes are Tencent's:
 * AuthFailure.InvalidAuthorization, AuthFailure.SignatureExpire, AuthFailure.SecretIdNotFound,
 * AuthFailure.SignatureFailure.
 */
export function verify(input: VerifyInput): VerifyResult {
    const fail = (code: string, message: string): VerifyResult => ({ ok: false, code, message });
    const auth = header(input.headers, "authorization");
    if (!auth) {
        return fail("AuthFailure.SignatureFailure", "The request has no Authorization header.");
    }
    const parsed = parseAuthorization(auth);
    if (!parsed) {
        return fail("AuthFailure.InvalidAuthorization", "Authorization is not a well-formed TC3-HMAC-SHA256 header.");
    }
    const tsText = header(input.headers, "x-tc-timestamp") ?? "";
    const timestamp = Number(tsText);
    if (!/^\d+$/.test(tsText)) {
        return fail("AuthFailure.SignatureExpire", "X-TC-Timestamp is missing or not a unix timestamp.");
    }
    if (Math.abs(input.now - timestamp) > maxClockSkewSeconds) {
        return fail("AuthFailure.SignatureExpire",
            `Signature expired: X-TC-Timestamp ${timestamp} is ${input.now - timestamp} s from the server's clock (${input.now}); at most ${maxClockSkewSeconds} s are allowed.`);
    }
    const secretKey = input.secretKeyOf(parsed.secretId);
    if (secretKey === undefined) {
        return fail("AuthFailure.SecretIdNotFound", `The SecretId ${parsed.secretId} does not exist.`);
    }
    if (parsed.date !== utcDate(timestamp)) {
        return fail("AuthFailure.SignatureFailure",
            `The credential scope's date ${parsed.date} is not the UTC date of X-TC-Timestamp (${utcDate(timestamp)}).`);
    }
    if (!parsed.signedHeaders.includes("content-type") || !parsed.signedHeaders.includes("host")) {
        return fail("AuthFailure.SignatureFailure", "SignedHeaders must include content-type and host.");
    }
    const headers: Array<[string, string]> = [];
    for (const name of parsed.signedHeaders) {
        const value = header(input.headers, name);
        if (value === undefined) {
            return fail("AuthFailure.SignatureFailure", `The signed header ${name} is not in the request.`);
        }
        headers.push([name, name === "host" ? hostWithoutPort(value) : value]);
    }
    const canonical = canonicalRequest({ method: input.method, path: input.path, query: input.query, headers, payload: input.body });
    const expected = signature(secretKey, timestamp, parsed.service, canonical);
    if (expected !== parsed.signature) {
        return fail("AuthFailure.SignatureFailure",
            "The provided credentials could not be validated: the signature does not match the request "
            + `(canonical host ${hostWithoutPort(header(input.headers, "host") ?? "")}, service ${parsed.service}).`);
    }
    return { ok: true, secretId: parsed.secretId, service: parsed.service };
}
