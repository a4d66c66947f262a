import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as net from "net";
import { useSmokeStack } from "./smoke-stack";

describe("engine smoke: real pulumi up and destroy against a real test host", function () {
    this.timeout(300_000);
    const smoke = useSmokeStack();

    it("runs one script over SSH and one through the console, then destroy undoes both, with no download attempt", async () => {
        // Any attempt to reach the network (a plugin download, an update check) goes through the
        // proxy the environment names: here a local listener that only counts connections.
        let attempts = 0;
        const trap = net.createServer((sock) => {
            attempts++;
            sock.destroy();
        });
        await new Promise<void>((r) => trap.listen(0, "127.0.0.1", r));
        const proxy = `http://127.0.0.1:${(trap.address() as net.AddressInfo).port}`;
        const marker = crypto.randomBytes(8).toString("hex");
        const { host, stack, privateKey } = await smoke.setUp(marker);
        Object.assign(stack.env, {
            HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy,
            NO_PROXY: "127.0.0.1,localhost", no_proxy: "127.0.0.1,localhost",
        });

        const up = await stack.up();
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        const outs = await stack.outputs();
        assert.equal(outs.sshUser, "root");
        assert.equal(outs.consoleHostname, host.name);
        // The effect is on the host itself, read back through the console.
        assert.equal((await host.consoleOk("cat /root/smoke-ssh")).trim(), marker);
        assert.equal((await host.consoleOk("cat /root/smoke-console")).trim(), marker);

        // The private key is a secret: not in the update's output, not in plaintext state.
        const keyBody = privateKey.split("\n")[1];
        assert.ok(keyBody.length > 20);
        assert.ok(!up.stdout.includes(keyBody) && !up.stderr.includes(keyBody), "key printed by pulumi up");
        assert.ok(!stack.stateText().includes(keyBody), "key found in plaintext state");

        const preview = await stack.pulumi(["preview", "--expect-no-changes"]);
        assert.equal(preview.code, 0, `a second preview wanted changes:\n${preview.stdout}`);

        const destroy = await stack.pulumi(["destroy", "--yes", "--skip-preview"]);
        assert.equal(destroy.code, 0, destroy.stderr);
        assert.equal((await host.console("test -e /root/smoke-ssh || test -e /root/smoke-console")).code, 1);
        trap.close();
        assert.equal(attempts, 0, "the engine tried to reach the network");
    });
});
