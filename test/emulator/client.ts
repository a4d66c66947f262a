import * as http from "http";
import { LookupAddress } from "dns";
import { CommonClient } from "tencentcloud-sdk-nodejs-common";

/**
 * How a client reaches the emulator with the official SDK unchanged: the SDK signs with the first
 * label of its endpoint as the service name, so every service keeps its real name under a test
 * domain (`cvm.tencentcloudapi.test:<port>`), is spoken to over plain HTTP, and an http.Agent
 * resolves every name to the loopback address the emulator listens on (no DNS, no proxy).
 */

/** The endpoint setting of the production code (`sshremedy:tencentEndpoint`): domain with port, protocol, address. */
export interface EmulatorEndpoint {
    readonly domain: string;
    readonly protocol: "http";
    readonly address: string;
}

export const testDomain = "tencentcloudapi.test";

export const apiVersions = { cvm: "2017-03-12", cbs: "2017-03-12", vpc: "2017-03-12", tat: "2020-10-28" } as const;
export type ServiceName = keyof typeof apiVersions;

/** An http.Agent that connects every host name to `address`. */
export function pinnedAgent(address: string): http.Agent {
    const family = address.includes(":") ? 6 : 4;
    const lookup = (_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void): void => {
        if (opts?.all) {
            cb(null, [{ address, family } satisfies LookupAddress]);
        } else {
            cb(null, address, family);
        }
    };
    return new http.Agent({ keepAlive: true, lookup: lookup as unknown as http.AgentOptions["lookup"] });
}

export interface ClientOptions {
    readonly secretId: string;
    readonly secretKey: string;
    readonly token?: string;
    readonly region: string;
    readonly agent?: http.Agent;
}

/** A CommonClient of the official SDK for one service, pointed at the emulator. */
export function commonClient(endpoint: EmulatorEndpoint, service: ServiceName, opts: ClientOptions): CommonClient {
    return new CommonClient(`${service}.tencentcloudapi.com`, apiVersions[service], {
        credential: { secretId: opts.secretId, secretKey: opts.secretKey, token: opts.token },
        region: opts.region,
        profile: {
            httpProfile: {
                endpoint: `${service}.${endpoint.domain}`,
                protocol: `${endpoint.protocol}://`,
                agent: opts.agent ?? pinnedAgent(endpoint.address),
                reqTimeout: 30,
            },
        },
    });
}
