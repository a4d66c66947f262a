import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { createHost, destroyHost, ensureClientKeys, TestHost } from "../harness/lab";
import { TestStack } from "../harness/pulumi";
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

describe("[policy-e2e] the sshremedy pack stops lockouts in a real pulumi preview", function () {
    this.timeout(300_000);
    let host: TestHost | undefined;
    const stacks: TestStack[] = [];
    before(async () => {
        host = await createHost();
    });
    after(async () => {
        for (const s of stacks) await s.dispose();
        if (host) await destroyHost(host);
    });

    /** A stack of the policy fixture: one SshdConfig aimed at the test host through its console, verified as alice. */
    async function stackWith(settings: Record<string, unknown>, opts: { plainKey?: boolean } = {}): Promise<TestStack> {
        const h = host!;
        const s = await TestStack.create(path.join(__dirname, "fixtures", "policy-sshd"));
        stacks.push(s);
        await s.setConfig("address", h.address);
        await s.setConfig("consolePrefix", JSON.stringify(h.consolePrefix));
        await s.setConfig("settings", JSON.stringify(settings));
        await s.setConfig("privateKey", fs.readFileSync((await ensureClientKeys()).main, "utf8"), !opts.plainKey);
        if (opts.plainKey) await s.setConfig("plainKey", "true");
        return s;
    }

    /** What a change would touch: the live file, and the stage and snapshot folders a change creates. */
    const hostState = () => host!.consoleOk("sha256sum /etc/ssh/sshd_config; ls -a /etc/ssh; ls /var/lib/sshremedy 2>/dev/null || true");

    const compliant = { permitRootLogin: "prohibit-password", passwordAuthentication: false, maxAuthTries: 6, maxStartups: "10:30:100" };

    it("a declaration that shuts the verifying user out (AllowUsers without alice) fails the preview with the policy's message; the host is untouched", async () => {
        const s = await stackWith({ ...compliant, allowUsers: ["bob"] });
        const before = await hostState();
        const r = await s.pulumi(["preview", "--policy-pack", policies]);
        const out = `${r.stdout}\n${r.stderr}`;
        assert.notEqual(r.code, 0, out);
        assert.match(out, /sshremedy-sshd-disallow-excluded-login-user/);
        assert.match(out, /mandatory/);
        assert.ok(out.includes(`host: settings.allowUsers ["bob"] does not admit verify.user 'alice', so sshd refuses the login; `
            + "add 'alice' to allowUsers or set allowUsers to null."), out);
        assert.equal(await hostState(), before, "preview must change nothing on the host");
    });

    it("a compliant declaration passes: the preview exits zero with no violation", async () => {
        const s = await stackWith(compliant);
        const r = await s.pulumi(["preview", "--policy-pack", policies]);
        const out = `${r.stdout}\n${r.stderr}`;
        assert.equal(r.code, 0, out);
        assert.match(out, /✅ sshremedy@v0\.1\.0/);
        assert.doesNotMatch(out, /\[(advisory|mandatory)\]/, out);
    });

    it("tells a plain-text verifying key from a secret one (advisory: reported, the preview still passes)", async () => {
        const s = await stackWith(compliant, { plainKey: true });
        const r = await s.pulumi(["preview", "--policy-pack", policies]);
        const out = `${r.stdout}\n${r.stderr}`;
        assert.equal(r.code, 0, out);
        assert.match(out, /sshremedy-disallow-plaintext-credentials/);
        assert.match(out, /host-verify: login\.privateKey holds a private key as plain text/);
    });
});
