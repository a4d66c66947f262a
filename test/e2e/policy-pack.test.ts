import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { useSmokeStack } from "./smoke-stack";

const policies = path.resolve(__dirname, "..", "..", "policies");

describe("policy pack through the real engine (pulumi preview --policy-pack)", function () {
    this.timeout(300_000);
    const smoke = useSmokeStack();

    it("reports an ssh HostCommand without a pinned host key; mandatory config makes preview fail", async () => {
        const { host, stack } = await smoke.setUp("policy");

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
