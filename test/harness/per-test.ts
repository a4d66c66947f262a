import { createHost, destroyHost, HostOptions, TestHost } from "./lab";

/**
 * Call at describe level: returns a host factory whose hosts are destroyed after each test,
 * whether it passed or failed.
 */
export function hostsPerTest(): (opts?: HostOptions) => Promise<TestHost> {
    const made: TestHost[] = [];
    afterEach(async () => {
        await Promise.all(made.splice(0).map(destroyHost));
    });
    return async (opts?: HostOptions) => {
        const host = await createHost(opts);
        made.push(host);
        return host;
    };
}
