import type { CommonClient } from "tencentcloud-sdk-nodejs-common";
import type { TencentSettings } from "./settings";

/*
 * The one way sshremedy calls the Tencent Cloud API. These functions run inside Pulumi dynamic
 * providers, whose code Pulumi serialises by value: plain data in, node modules required inside
 * the function bodies, and no state captured from the module. What must outlive one call (SDK
 * clients, call counts, agents seen online) lives on `globalThis` under one key, made on first use
 * in whichever process runs the code.
 */

export type TencentService = "cvm" | "cbs" | "tat" | "vpc";

/** API version of each service. */
export const apiVersions: Readonly<Record<TencentService, string>> = {
    cvm: "2017-03-12",
    cbs: "2017-03-12",
    vpc: "2017-03-12",
    tat: "2020-10-28",
};

/**
 * Error codes retried, with every sub-code of theirs (`RequestLimitExceeded.UinLimitExceeded`,
 * `ResourceInUse.DiskRollbacking`, …): throttling and a resource briefly busy, answered before the
 * action took effect, so a retry cannot do it twice.
 *
 * Not retried: `ResourceUnavailable.*` (an agent offline, an instance not running, too many
 * snapshots being created: states an operator or a longer wait must change, which callers report
 * with a hint), `InternalError` (the action may have happened; as the Terraform provider does),
 * `FailedOperation.*`, `AuthFailure.*`, `InvalidParameter*`, and everything else.
 */
export const retriedCodeFamilies = ["RequestLimitExceeded", "ResourceBusy", "ResourceInUse"] as const;

export interface CallOptions {
    /**
     * Whether a failure that may have reached the API (a timeout or a reset connection after the
     * request was sent, HTTP 502/504) is retried. Default true. False for actions that must not run
     * twice (RunCommand): then only failures that surely never reached it (connection refused,
     * name not resolved, HTTP 429/503, the codes above) are retried.
     */
    readonly retryAmbiguous?: boolean;
    /** Timeout of one HTTP request. Default 60 s (the SDK's). */
    readonly timeoutSec?: number;
}

/** What a TencentApiError carries. */
export interface TencentApiErrorFields {
    readonly service: string;
    readonly action: string;
    /** The API's error code (`InvalidDisk.Busy`), absent for network and HTTP failures. */
    readonly code?: string;
    readonly requestId?: string;
    /** Set when the API (or a proxy before it) answered with an HTTP status other than 200. */
    readonly httpStatus?: number;
    /** The API's own message, or the network error's, with any credential text removed. */
    readonly detail: string;
    /** What the operator can do about it. */
    readonly hint?: string;
    readonly attempts: number;
    /** Whether the failure was of a retried kind (it still failed after the last attempt). */
    readonly transient: boolean;
}

/** A failed Tencent Cloud API call (an Error named "TencentApiError"): the API's code and request id, never the credentials. */
export interface TencentApiError extends Error, TencentApiErrorFields {}

/**
 * Makes a TencentApiError. A plain Error with fields rather than a subclass: Pulumi serialises
 * a subclass of Error into a dynamic provider without its message.
 */
export function tencentApiError(f: TencentApiErrorFields): TencentApiError {
    const what = f.code ?? (f.httpStatus !== undefined ? `HTTP ${f.httpStatus}` : "network error");
    const ids = [f.requestId ? `request id ${f.requestId}` : "", f.attempts > 1 ? `after ${f.attempts} attempts` : ""]
        .filter((x) => x !== "").join(", ");
    const e = new Error(`Tencent Cloud ${f.service}:${f.action} failed: ${what}: ${f.detail}${ids ? ` (${ids})` : ""}`
        + (f.hint ? `. ${f.hint}` : ""));
    e.name = "TencentApiError";
    const out: TencentApiError = Object.assign(e, f);
    const bag = out as unknown as Record<string, unknown>;
    for (const k of Object.keys(f)) {
        if (bag[k] === undefined) delete bag[k];
    }
    return out;
}

/**
 * Whether a value is a TencentApiError (by its name and fields).
 */
export function isTencentApiError(e: unknown): e is TencentApiError {
    return e instanceof Error && e.name === "TencentApiError" && typeof (e as TencentApiError).action === "string";
}

/** The same error with an operator's hint added to its message. */
export function withHint(e: TencentApiError, hint: string): TencentApiError {
    return tencentApiError({
        service: e.service, action: e.action, code: e.code, requestId: e.requestId, httpStatus: e.httpStatus,
        detail: e.detail, hint, attempts: e.attempts, transient: e.transient,
    });
}

/** Whether an error is the API's `code` or one of its sub-codes (`code.*`). */
export function hasCode(e: unknown, ...codes: string[]): e is TencentApiError {
    if (!isTencentApiError(e) || e.code === undefined) return false;
    const c = e.code;
    return codes.some((x) => c === x || c.startsWith(`${x}.`));
}

/** How a failed request is treated. Pure: exported for tests. */
export type FailureKind =
    | { readonly kind: "api"; readonly code: string; readonly requestId?: string; readonly message: string; readonly retry: boolean }
    | { readonly kind: "http"; readonly status: number; readonly message: string; readonly retry: boolean; readonly ambiguous: boolean }
    | { readonly kind: "network"; readonly message: string; readonly retry: boolean; readonly ambiguous: boolean };

/**
 * Sorts what the SDK threw. The SDK raises its own exception for everything: with `.code` from
 * an API error envelope (HTTP 200), with `.httpCode` for another HTTP status, and with neither for
 * a failure of the connection (its message is node-fetch's: "request to … failed, reason: …",
 * "network timeout at: …"); a failure while reading the body comes as node-fetch's own error.
 */
export function classifyFailure(e: unknown): FailureKind {
    const err = (typeof e === "object" && e !== null ? e : {}) as {
        code?: unknown; httpCode?: unknown; requestId?: unknown; message?: unknown; type?: unknown;
    };
    const message = typeof err.message === "string" ? err.message : String(e);
    if (typeof err.type === "string") {
        // node-fetch's FetchError: the body could not be read (system, body-timeout) or parsed.
        return err.type === "invalid-json"
            ? { kind: "http", status: 200, message: "the answer is not JSON (a proxy in between?)", retry: false, ambiguous: false }
            : { kind: "network", message, retry: true, ambiguous: true };
    }
    if (typeof err.code === "string" && err.code !== "") {
        const retry = retriedCodeFamilies.some((f) => err.code === f || (err.code as string).startsWith(`${f}.`));
        return { kind: "api", code: err.code, requestId: typeof err.requestId === "string" && err.requestId ? err.requestId : undefined, message, retry };
    }
    if (typeof err.httpCode === "number") {
        const status = err.httpCode;
        // 429 and 503 are refusals before any work; 502 and 504 may come after the API acted.
        return { kind: "http", status, message, retry: [429, 502, 503, 504].includes(status), ambiguous: status === 502 || status === 504 };
    }
    if (/certificate|ERR_TLS|self[- ]signed|unable to verify/i.test(message)) {
        return { kind: "network", message, retry: false, ambiguous: false };
    }
    // Refused, unresolved or unreachable: the request never left.
    const neverSent = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL/.test(message);
    return { kind: "network", message, retry: true, ambiguous: !neverSent };
}

/** Delay before retry number `retry` (1-based): exponential, capped, with jitter in [half, full]. */
export function backoffMs(retry: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
    const ceiling = Math.min(capMs, baseMs * 2 ** (retry - 1));
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** API calls made by this process, counted per HTTP request (retries included). */
export interface TencentCallCounts {
    total: number;
    retries: number;
    /** `service:Action` → requests. */
    byAction: Record<string, number>;
}

interface TencentRuntime {
    clients: Map<string, CommonClient>;
    counts: TencentCallCounts;
    /** instance id → when its TAT agent was last seen online (ms since the epoch). */
    agentsOnline: Map<string, number>;
}

/** State shared by every copy of these functions in one process; made on first use. */
export function tencentRuntime(): TencentRuntime {
    const g = globalThis as unknown as { __sshremedyTencent?: TencentRuntime };
    g.__sshremedyTencent ??= { clients: new Map(), counts: { total: 0, retries: 0, byAction: {} }, agentsOnline: new Map() };
    return g.__sshremedyTencent;
}

/** A copy of the counts of this process. */
export function tencentCallCounts(): TencentCallCounts {
    const c = tencentRuntime().counts;
    return { total: c.total, retries: c.retries, byAction: { ...c.byAction } };
}

export function resetTencentCallCounts(): void {
    tencentRuntime().counts = { total: 0, retries: 0, byAction: {} };
}

/** Replaces every credential text in a message: API and network messages may echo them. */
export function redact(text: string, settings: Pick<TencentSettings, "secretId" | "secretKey" | "securityToken">): string {
    let out = text;
    for (const s of [settings.secretKey, settings.securityToken, settings.secretId]) {
        if (s && s.length >= 4) out = out.split(s).join("[redacted]");
    }
    return out;
}

/** The SDK client for one service under the settings, made once per process. */
function clientFor(settings: TencentSettings, service: TencentService, timeoutSec: number): CommonClient {
    const crypto: typeof import("crypto") = require("crypto");
    const runtime = tencentRuntime();
    const ep = settings.endpoint;
    const who = crypto.createHash("sha256")
        .update(`${settings.secretId}\0${settings.secretKey}\0${settings.securityToken ?? ""}`).digest("hex");
    const key = [service, settings.region, ep?.protocol ?? "https", ep?.domain ?? "", ep?.address ?? "", timeoutSec, who].join("|");
    const cached = runtime.clients.get(key);
    if (cached) return cached;
    const sdk: typeof import("tencentcloud-sdk-nodejs-common") = require("tencentcloud-sdk-nodejs-common");
    const protocol = ep?.protocol ?? "https";
    let agent: import("http").Agent | undefined;
    if (ep?.address) {
        // Every service host connects to this one address, as curl --resolve does; names stay as
        // they are for the Host header, the signature and TLS.
        const address = ep.address;
        const family = address.includes(":") ? 6 : 4;
        const lookup = ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
            if (opts?.all) cb(null, [{ address, family }]);
            else cb(null, address, family);
        }) as unknown as import("net").LookupFunction;
        agent = protocol === "http"
            ? new (require("http") as typeof import("http")).Agent({ keepAlive: true, lookup })
            : new (require("https") as typeof import("https")).Agent({ keepAlive: true, lookup });
    }
    const client = new sdk.CommonClient(`${service}.${ep?.domain ?? "tencentcloudapi.com"}`, apiVersions[service], {
        credential: {
            secretId: settings.secretId,
            secretKey: settings.secretKey,
            ...(settings.securityToken ? { token: settings.securityToken } : {}),
        },
        region: settings.region,
        profile: {
            httpProfile: {
                protocol: `${protocol}://`,
                reqTimeout: timeoutSec,
                ...(agent ? { agent } : {}),
            },
        },
    });
    runtime.clients.set(key, client);
    return client;
}

/**
 * Calls one API action and resolves to the body of its `Response` (RequestId included). Retries
 * the codes of `retriedCodeFamilies` and network failures (see `CallOptions.retryAmbiguous`) with
 * exponential backoff and jitter (`settings.retry`: 6 attempts, 0.5 s doubling to at most 8 s by
 * default); throws a `TencentApiError` for anything else, or when the attempts run out.
 */
export async function call<T = Record<string, unknown>>(
    settings: TencentSettings,
    service: TencentService,
    action: string,
    params: Record<string, unknown>,
    opts: CallOptions = {},
): Promise<T> {
    const client = clientFor(settings, service, opts.timeoutSec ?? 60);
    const maxAttempts = Math.max(1, settings.retry?.maxAttempts ?? 6);
    const baseMs = settings.retry?.baseDelayMs ?? 500;
    const capMs = settings.retry?.maxDelayMs ?? 8000;
    const label = `${service}:${action}`;
    for (let attempt = 1; ; attempt++) {
        const counts = tencentRuntime().counts;
        counts.total++;
        counts.byAction[label] = (counts.byAction[label] ?? 0) + 1;
        if (attempt > 1) counts.retries++;
        try {
            return (await client.request(action, params)) as T;
        } catch (e) {
            const f = classifyFailure(e);
            const retry = f.retry && !(f.kind !== "api" && f.ambiguous && opts.retryAmbiguous === false);
            if (!retry || attempt >= maxAttempts) {
                throw tencentApiError({
                    service, action, attempts: attempt, transient: f.retry,
                    detail: redact(f.message, settings),
                    ...(f.kind === "api" ? { code: f.code, requestId: f.requestId } : {}),
                    ...(f.kind === "http" && f.status !== 200 ? { httpStatus: f.status } : {}),
                });
            }
            await new Promise((r) => setTimeout(r, backoffMs(attempt, baseMs, capMs)));
        }
    }
}
