import { randomUUID } from "crypto";
import * as http from "http";
import { AddressInfo } from "net";
import { ApiError, isObject, Json, onlyKnown, Params } from "./params";
import { hostWithoutPort, verify } from "./sign";

/**
 * The API 3.0 front door: POST / with a JSON body, TC3-HMAC-SHA256 checked, routed on the signed
 * service (the credential scope), X-TC-Version and X-TC-Action. Every answer is HTTP 200 with
 * `{"Response": {..., "RequestId"}}`, errors as `Response.Error{Code, Message}`: the SDK reads
 * an error's code only from a 200 body.
 */

export interface CallContext {
    readonly service: string;
    readonly action: string;
    readonly region: string;
    readonly requestId: string;
    readonly secretId: string;
}

export interface ActionDef {
    /** The request's documented top-level parameters; anything else is UnknownParameter. */
    readonly params: readonly string[];
    run(ctx: CallContext, params: Params): Promise<Record<string, Json>> | Record<string, Json>;
}

export interface ServiceDef {
    readonly version: string;
    readonly actions: Readonly<Record<string, ActionDef>>;
}

/** One call as the emulator saw it, for tests that check what a client sent. */
export interface CallRecord {
    readonly service: string;
    readonly action: string;
    readonly region: string;
    readonly params: Params;
    readonly requestId: string;
    /** The error code answered, undefined on success. */
    readonly error?: string;
    /** When the answer was sent (ms since the epoch). */
    readonly at: number;
}

export interface ServerOptions {
    readonly services: Readonly<Record<string, ServiceDef>>;
    readonly secretKeyOf: (secretId: string) => string | undefined;
    /** X-TC-Token each secret id needs, if it is a temporary credential. */
    readonly tokenOf: (secretId: string) => string | undefined;
    /** The server's clock, unix seconds (the emulator can skew it). */
    readonly now: () => number;
    readonly regions: () => ReadonlySet<string>;
    /** Calls allowed per second and action; the service's default is 20. */
    readonly rateLimit: (service: string, action: string) => number;
    readonly apiLatencyMs: () => number;
    readonly onCall: (call: CallRecord) => void;
    readonly onInternalError: (e: Error) => void;
}

const maxBodyBytes = 10 * 1024 * 1024;

export class ApiServer {
    private server?: http.Server;
    private readonly recent = new Map<string, number[]>();

    constructor(private readonly opts: ServerOptions) {}

    async listen(host = "127.0.0.1", port = 0): Promise<number> {
        this.server = http.createServer((req, res) => {
            this.handle(req, res).catch((e: unknown) => {
                this.opts.onInternalError(e instanceof Error ? e : new Error(String(e)));
                if (!res.headersSent) {
                    res.writeHead(500).end();
                }
            });
        });
        await new Promise<void>((resolve, reject) => {
            this.server?.once("error", reject);
            this.server?.listen(port, host, () => resolve());
        });
        return (this.server.address() as AddressInfo).port;
    }

    async close(): Promise<void> {
        const s = this.server;
        if (!s) {
            return;
        }
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of req) {
            size += (chunk as Buffer).length;
            if (size <= maxBodyBytes) {
                chunks.push(chunk as Buffer);
            }
        }
        const body = Buffer.concat(chunks);
        const requestId = randomUUID();
        const send = (response: Record<string, Json>) => {
            const text = JSON.stringify({ Response: { ...response, RequestId: requestId } });
            const headers: http.OutgoingHttpHeaders = { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) };
            const trace = req.headers["x-tc-traceid"];
            if (typeof trace === "string") {
                headers["X-TC-TraceId"] = trace;
            }
            res.writeHead(200, headers).end(text);
        };
        const fail = (code: string, message: string) => send({ Error: { Code: code, Message: message } });

        if (size > maxBodyBytes) {
            return fail("RequestSizeLimitExceeded", `The request body is ${size} bytes; at most ${maxBodyBytes} are accepted.`);
        }
        const url = new URL(req.url ?? "/", "http://emulator");
        const contentType = req.headers["content-type"] ?? "";
        if (req.method !== "POST" || !/^application\/json(\s*;|$)/i.test(contentType)) {
            return fail("UnsupportedRequest",
                `This emulator takes POST with Content-Type application/json (the SDK's default); got ${req.method} ${contentType}.`);
        }
        const action = header(req, "x-tc-action");
        const version = header(req, "x-tc-version");
        if (!action || !version) {
            return fail("MissingParameter", `The request is missing a required parameter \`${!action ? "Action" : "Version"}\` (header X-TC-${!action ? "Action" : "Version"}).`);
        }
        const auth = verify({
            method: req.method, path: url.pathname, query: url.search.slice(1), headers: req.headers, body,
            now: this.opts.now(), secretKeyOf: this.opts.secretKeyOf,
        });
        if (!auth.ok) {
            return fail(auth.code, auth.message);
        }
        const token = this.opts.tokenOf(auth.secretId);
        if (token !== undefined && header(req, "x-tc-token") !== token) {
            return fail("AuthFailure.TokenFailure", "The temporary credential needs its X-TC-Token.");
        }
        // The service is the one signed for; a host named after another service would not have accepted it.
        const service = auth.service;
        const hostLabel = hostWithoutPort(header(req, "host") ?? "").split(".")[0];
        const def = this.opts.services[service];
        if (!def || (hostLabel in this.opts.services && hostLabel !== service)) {
            return fail("AuthFailure.SignatureFailure",
                `The credential scope names service "${service}", which the host ${header(req, "host")} does not serve. The SDK signs `
                + `with the first label of its endpoint: use an endpoint like ${Object.keys(this.opts.services)[0]}.<domain>:<port>.`);
        }
        const region = header(req, "x-tc-region") ?? "";
        let params: Params = {};
        let code: string | undefined;
        try {
            if (version !== def.version) {
                throw new ApiError("NoSuchVersion", `The version ${version} of ${service} does not exist; it is ${def.version}.`);
            }
            const actionDef = def.actions[action];
            if (!actionDef) {
                throw new ApiError("InvalidAction", `The action ${action} does not exist in ${service} ${version}.`);
            }
            if (!region) {
                throw new ApiError("MissingParameter", "The request is missing a required parameter `Region` (header X-TC-Region).");
            }
            if (!this.opts.regions().has(region)) {
                throw new ApiError("UnsupportedRegion", `The region ${region} is not supported.`);
            }
            if (!this.admit(service, action)) {
                throw new ApiError("RequestLimitExceeded", `More than ${this.opts.rateLimit(service, action)} ${action} calls in one second.`);
            }
            let parsed: unknown;
            try {
                parsed = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
            } catch {
                throw new ApiError("InvalidParameter", "The request body is not valid JSON.");
            }
            if (!isObject(parsed)) {
                throw new ApiError("InvalidParameter", "The request body must be a JSON object.");
            }
            params = parsed;
            onlyKnown(params, actionDef.params);
            const latency = this.opts.apiLatencyMs();
            if (latency > 0) {
                await new Promise((r) => setTimeout(r, latency));
            }
            const result = await actionDef.run({ service, action, region, requestId, secretId: auth.secretId }, params);
            send(result);
        } catch (e) {
            if (e instanceof ApiError) {
                code = e.code;
                fail(e.code, e.message);
            } else {
                code = "InternalError";
                this.opts.onInternalError(e instanceof Error ? e : new Error(String(e)));
                fail("InternalError", `Internal error: ${e instanceof Error ? e.message : String(e)}`);
            }
        } finally {
            this.opts.onCall({ service, action, region, params, requestId, error: code, at: Date.now() });
        }
    }

    /** A sliding one-second window per action. */
    private admit(service: string, action: string): boolean {
        const key = `${service}.${action}`;
        const now = Date.now();
        const times = (this.recent.get(key) ?? []).filter((t) => t > now - 1000);
        const ok = times.length < this.opts.rateLimit(service, action);
        if (ok) {
            times.push(now);
        }
        this.recent.set(key, times);
        return ok;
    }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
}
