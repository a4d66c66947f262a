import * as pulumi from "@pulumi/pulumi";
import { parseIp } from "../core/ip";

/**
 * Everything a Tencent Cloud API call needs: plain data, so it can travel inside a dynamic
 * resource's inputs (which sshremedy marks secret: the key is in it).
 */
export interface TencentSettings {
    readonly secretId: string;
    readonly secretKey: string;
    /** The token of temporary (STS) credentials; sent as `X-TC-Token`. */
    readonly securityToken?: string;
    /** e.g. `ap-guangzhou`. */
    readonly region: string;
    /** Where the API lives. Defaults to `<service>.tencentcloudapi.com` over https. */
    readonly endpoint?: TencentEndpoint;
    /** Retry tuning for throttling, busy resources and network errors (see `api.ts`). */
    readonly retry?: RetryTuning;
}

export interface TencentEndpoint {
    /**
     * The domain under which every service has its host `<service>.<domain>`: `tencentcloudapi.com`
     * (the public API), `internal.tencentcloudapi.com`, or `tencentcloudapi.internal:8443` for a
     * private cloud or a proxy. A port, if any, goes here. The request is signed for the first
     * label of the service host (`cvm`, `cbs`, `tat`, `vpc`) and the host without its port.
     */
    readonly domain: string;
    /** Defaults to `https`. */
    readonly protocol?: "https" | "http";
    /**
     * Connect every service host to this IP address instead of resolving its name (like curl's
     * `--resolve`): for private endpoints without DNS. TLS still checks the certificate against
     * the service host name. With it, `$http_proxy` is not used.
     */
    readonly address?: string;
}

export interface RetryTuning {
    /** Attempts in all, the first included. Default 6. */
    readonly maxAttempts?: number;
    /** Delay before the first retry, doubled for each next one. Default 500 ms. */
    readonly baseDelayMs?: number;
    /** Cap of one delay. Default 8000 ms. */
    readonly maxDelayMs?: number;
}

/** Pulumi config keys and environment variables the resolver reads, for messages and docs. */
export const tencentConfigKeys = {
    secretId: { config: "tencentcloud:secretId", env: "TENCENTCLOUD_SECRET_ID" },
    secretKey: { config: "tencentcloud:secretKey", env: "TENCENTCLOUD_SECRET_KEY" },
    securityToken: { config: "tencentcloud:securityToken", env: "TENCENTCLOUD_SECURITY_TOKEN" },
    region: { config: "tencentcloud:region", env: "TENCENTCLOUD_REGION" },
    endpoint: { config: "sshremedy:tencentEndpoint" },
} as const;

/** Values given in the program itself: they win over config and environment. */
export interface TencentSettingsArgs {
    readonly secretId?: pulumi.Input<string>;
    readonly secretKey?: pulumi.Input<string>;
    readonly securityToken?: pulumi.Input<string>;
    readonly region?: pulumi.Input<string>;
    readonly endpoint?: pulumi.Input<TencentEndpoint>;
    readonly retry?: RetryTuning;
}

/**
 * Checks an endpoint setting and returns it in canonical form (protocol filled in); throws an
 * error naming `what` (the setting) for a bad one. Pure.
 */
export function checkEndpoint(value: unknown, what: string = tencentConfigKeys.endpoint.config): TencentEndpoint {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new Error(`${what}: expected an object {domain, protocol?, address?}, got ${JSON.stringify(value)}`);
    }
    const v = value as Record<string, unknown>;
    const unknownKeys = Object.keys(v).filter((k) => !["domain", "protocol", "address"].includes(k));
    if (unknownKeys.length > 0) {
        throw new Error(`${what}: unknown field(s) ${unknownKeys.join(", ")}; the fields are domain, protocol, address`);
    }
    const domain = v.domain;
    // A host name (labels of letters, digits, '-' and '_'), optionally with a port.
    if (typeof domain !== "string" || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(:\d{1,5})?$/.test(domain)) {
        throw new Error(`${what}.domain: expected a domain such as "tencentcloudapi.com" or "tencentcloudapi.internal:8443" `
            + `(no scheme, no path), got ${JSON.stringify(domain)}`);
    }
    const port = /:(\d+)$/.exec(domain)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
        throw new Error(`${what}.domain: port ${port} is out of range`);
    }
    const protocol = v.protocol ?? "https";
    if (protocol !== "https" && protocol !== "http") {
        throw new Error(`${what}.protocol: expected "https" or "http", got ${JSON.stringify(protocol)}`);
    }
    const address = v.address;
    if (address !== undefined && (typeof address !== "string" || parseIp(address) === undefined)) {
        throw new Error(`${what}.address: expected an IPv4 or IPv6 address, got ${JSON.stringify(address)}`);
    }
    return address === undefined ? { domain, protocol } : { domain, protocol, address };
}

/**
 * Reads `sshremedy:tencentEndpoint`: either a JSON object (`pulumi config set sshremedy:tencentEndpoint
 * '{"domain":"tencentcloudapi.internal:8443","protocol":"http","address":"10.0.0.5"}'`), an object
 * set field by field (`pulumi config set --path sshremedy:tencentEndpoint.domain …`), or a bare
 * domain (`pulumi config set sshremedy:tencentEndpoint internal.tencentcloudapi.com`).
 */
export function parseEndpointConfig(raw: string | undefined): TencentEndpoint | undefined {
    if (raw === undefined || raw.trim() === "") return undefined;
    const text = raw.trim();
    if (text.startsWith("{")) {
        let parsed: unknown;
        try {
            parsed = JSON.parse(text);
        } catch (e) {
            throw new Error(`${tencentConfigKeys.endpoint.config}: not valid JSON (${(e as Error).message})`);
        }
        return checkEndpoint(parsed);
    }
    return checkEndpoint({ domain: text });
}

function missing(key: "secretId" | "secretKey" | "region"): Error {
    const k = tencentConfigKeys[key];
    const set = key === "secretKey" ? `pulumi config set --secret ${k.config} <value>` : `pulumi config set ${k.config} <value>`;
    return new Error(`Tencent Cloud ${key} is not set: run \`${set}\` or set the environment variable ${k.env}`
        + (key === "region" ? " (e.g. ap-guangzhou)" : ""));
}

/**
 * Program-time resolution of the Tencent Cloud settings. Each value is taken from, in order:
 * 1. `args` given in the program;
 * 2. Pulumi config `tencentcloud:secretId`, `tencentcloud:secretKey` (secret), `tencentcloud:securityToken`,
 *    `tencentcloud:region` (the keys the tencentcloud provider reads too);
 * 3. the environment: `TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY`, `TENCENTCLOUD_SECURITY_TOKEN`,
 *    `TENCENTCLOUD_REGION`.
 * The security token is taken from the same place as the secret key (or from `args`).
 * The endpoint comes from `args.endpoint`, else config `sshremedy:tencentEndpoint` (see
 * `parseEndpointConfig`), else the public API. A missing id, key or region throws here, naming the
 * config key and the environment variable to set.
 *
 * The result is a secret Output: passed as a dynamic resource's input it is stored encrypted, and
 * it never shows in logs or stack outputs in plain text.
 */
export function resolveTencentSettings(args: TencentSettingsArgs = {}): pulumi.Output<TencentSettings> {
    const config = new pulumi.Config("tencentcloud");
    const own = new pulumi.Config("sshremedy");
    const env = (name: string): string | undefined => {
        const v = process.env[name];
        return v === undefined || v === "" ? undefined : v;
    };
    // Credentials are read as secrets (no warning when they are set with --secret); the result is
    // secret anyway. The token comes from where the key comes from: a token of another session
    // (an old TENCENTCLOUD_SECURITY_TOKEN) must not ride along with a key from the config.
    const fromEnv = (key: "secretId" | "secretKey" | "securityToken") => {
        const v = env(tencentConfigKeys[key].env);
        return v === undefined ? undefined : pulumi.secret(v);
    };
    const secretId = args.secretId ?? config.getSecret("secretId") ?? fromEnv("secretId");
    let secretKey: pulumi.Input<string> | undefined;
    let securityToken: pulumi.Input<string> | undefined;
    if (args.secretKey !== undefined) {
        [secretKey, securityToken] = [args.secretKey, args.securityToken];
    } else if (config.getSecret("secretKey") !== undefined) {
        [secretKey, securityToken] = [config.getSecret("secretKey"), args.securityToken ?? config.getSecret("securityToken")];
    } else {
        [secretKey, securityToken] = [fromEnv("secretKey"), args.securityToken ?? fromEnv("securityToken")];
    }
    const region: pulumi.Input<string> | undefined = args.region ?? config.get("region") ?? env(tencentConfigKeys.region.env);
    for (const [key, value] of [["secretId", secretId], ["secretKey", secretKey], ["region", region]] as const) {
        if (value === undefined) throw missing(key);
    }
    const endpoint: pulumi.Input<TencentEndpoint> | undefined = args.endpoint
        ?? parseEndpointConfig(own.get("tencentEndpoint"));
    const retry = args.retry;
    const resolved = pulumi.all([secretId!, secretKey!, region!, securityToken, endpoint]).apply(([id, key, reg, token, ep]) => {
        if (!id) throw missing("secretId");
        if (!key) throw missing("secretKey");
        if (!reg) throw missing("region");
        const s: TencentSettings = {
            secretId: id,
            secretKey: key,
            region: reg,
            ...(token ? { securityToken: token } : {}),
            ...(ep ? { endpoint: checkEndpoint(ep, "endpoint") } : {}),
            ...(retry ? { retry } : {}),
        };
        return s;
    });
    return pulumi.secret(resolved);
}
