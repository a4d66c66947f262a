import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { createHost, destroyHost, ensureClientKeys, TestHost } from "../harness/lab";
import { TestStack } from "../harness/pulumi";

const policies = path.resolve(__dirname, "..", "..", "policies");

describe("policy pack through the real engine (pulumi preview --policy-pack)", function () {
    this.timeout(300_000);
    let host: TestHost | undefined;
    let stack: TestStack | undefined;
    after(async () => {
        await stack?.dispose();
        if (host) {
            await destroyHost(host);
        }
    });

    it("reports an ssh HostCommand without a pinned host key; mandatory config makes preview fail", async () => {
        host = await createHost();
        stack = await TestStack.create(path.join(__dirname, "fixtures", "smoke"));
        await stack.setConfig("address", host.address);
        await stack.setConfig("marker", "policy");
        await stack.setConfig("privateKey", fs.readFileSync((await ensureClientKeys()).main, "utf8"), true);
        await stack.setConfig("consolePrefix", JSON.stringify(host.consolePrefix));

        const advisory = await stack.pulumi(["preview", "--policy-pack", policies]);
        assert.equal(advisory.code, 0, `${advisory.stdout}\n${advisory.stderr}`);
        assert.match(advisory.stdout, /sshremedy-host-command-require-host-key/);
        assert.match(advisory.stdout, new RegExp(`ssh target ${host.address.replace(/\./g, "\\.")} has no hostKey`));

        const configFile = path.join(stack.stateDir, "policy-config.json");
        fs.writeFileSync(configFile, JSON.stringify({ "sshremedy-host-command-require-host-key": "mandatory" }));
        const mandatory = await stack.pulumi(["preview", "--policy-pack", policies, "--policy-pack-config", configFile]);
        assert.notEqual(mandatory.code, 0, "a mandatory violation must fail the preview");
        assert.match(mandatory.stdout + mandatory.stderr, /mandatory/);
        // Preview sends nothing to the host.
        assert.equal((await host.console("test -e /root/smoke-ssh")).code, 1);
    });
});
