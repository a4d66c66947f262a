import * as fs from "fs";
import * as path from "path";
import { createHost, destroyHost, ensureClientKeys, TestHost } from "../harness/lab";
import { TestStack } from "../harness/pulumi";

/**
 * One test host plus a stack of the smoke fixture aimed at it (address, marker, the client's
 * key as a secret, the console prefix), torn down together by the suite's `after`.
 */
export function useSmokeStack(): { setUp(marker: string): Promise<{ host: TestHost; stack: TestStack; privateKey: string }> } {
    let host: TestHost | undefined;
    let stack: TestStack | undefined;
    after(async () => {
        await stack?.dispose();
        if (host) {
            await destroyHost(host);
        }
    });
    return {
        async setUp(marker: string) {
            host = await createHost();
            const privateKey = fs.readFileSync((await ensureClientKeys()).main, "utf8");
            stack = await TestStack.create(path.join(__dirname, "fixtures", "smoke"));
            await stack.setConfig("address", host.address);
            await stack.setConfig("marker", marker);
            await stack.setConfig("privateKey", privateKey, true);
            await stack.setConfig("consolePrefix", JSON.stringify(host.consolePrefix));
            return { host, stack, privateKey };
        },
    };
}
