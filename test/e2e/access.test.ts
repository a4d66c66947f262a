import { strict as assert } from "assert";
import * as fs from "fs";
import { FaultId, faultLogin, holdUnauthenticated, InjectOptions, injectFault, stillOpen } from "../harness/faults";
import { createHost, createHosts, destroyHost, ensureClientKeys, TestHost, testUsers } from "../harness/lab";
import { TestStack } from "../harness/pulumi";
import { stackFor } from "../harness/stacks";
import { sshLogin } from "../harness/ssh";

describe("SshAccess through index.ts: every catalogue fault repaired by a real pulumi up", function () {
    this.timeout(600_000);
    const hosts: TestHost[] = [];
    let stack: TestStack | undefined;
    afterEach(async () => {
        await stack?.dispose();
        stack = undefined;
        await Promise.all(hosts.splice(0).map(destroyHost));
    });

    const faults: { id: FaultId; title: string; opts?: InjectOptions; user?: string; method?: "key" | "password" }[] = [
        { id: "S1", title: "AllowUsers excludes the user" },
        { id: "S2", title: "DenyUsers lists the user" },
        { id: "S3", title: "AllowGroups excludes the user's groups" },
        { id: "S4", title: "DenyGroups lists a group of the user" },
        { id: "S5", title: "PasswordAuthentication no for a password login", method: "password" },
        { id: "S6", title: "hosts.deny blocks sshd" },
        { id: "S7", title: "an iptables rule rejects the source", opts: { s7: "iptables" } },
        { id: "S7", title: "an nftables rule rejects the source", opts: { s7: "nftables" } },
        { id: "S7", title: "fail2ban banned the source", opts: { s7: "fail2ban" } },
        { id: "S8", title: "MaxStartups too low for the unauthenticated connections" },
        { id: "S10", title: "PermitRootLogin no for a root key login", user: "root" },
        { id: "S11", title: "MaxAuthTries lower than the keys offered" },
        { id: "S12", title: "a shared library of sshd is missing" },
        { id: "S13", title: "a PAM module named in /etc/pam.d/sshd is missing" },
        { id: "S14", title: "a ListenAddress the host cannot bind" },
        { id: "S14", title: "AddressFamily inet6 on an IPv4-only host", opts: { s14: "inet6-on-ipv4-host" } },
        { id: "S15", title: "a bad option pasted into sshd_config" },
    ];

    for (const f of faults) {
        it(`[${f.id}] ${f.title}: the symptom, pulumi up, then the login works${f.id === "S8" ? " while connections are held again (effective MaxStartups shown)" : ""} and the snapshot exists`, async () => {
            const host = await createHost();
            hosts.push(host);
            const fault = await injectFault(host, f.id, f.opts);
            const before = await sshLogin({ address: host.address, ...fault.login });
            assert.equal(before.ok, false);
            assert.match(before.symptom, fault.symptom);

            stack = await stackFor([{ host, user: f.user, method: f.method }]);
            const up = await stack.up();
            assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
            // [S8]: the repaired sshd's own MaxStartups, and the login made while as many
            // unauthenticated connections as the fault held are open again against it.
            const held = f.id === "S8" ? await holdUnauthenticated(host, 3) : [];
            if (f.id === "S8") {
                const effective = await host.consoleOk("sshd -T | grep '^maxstartups '");
                const start = Number(/^maxstartups (\d+)/m.exec(effective)?.[1]);
                assert.ok(start > held.length, `sshd's effective MaxStartups is still too low: ${effective.trim()}`);
                assert.equal(stillOpen(held), held.length, "sshd dropped the held connections: the login below would prove nothing");
            }
            const after = await sshLogin({ address: host.address, ...(await faultLogin(f.id)) });
            assert.ok(after.ok, `login still fails: ${after.symptom}`);
            assert.equal(stillOpen(held), held.length, "the held connections closed before the login: it did not share sshd with them");
            held.forEach((x) => x.destroy());
            fault.release();
            const result = ((await stack.outputs()).results as Record<string, { snapshot: string; drift: string[]; diagnosis: { id: string; evidence: string[]; blocking: boolean }[] }>)[host.name];
            assert.ok(result.drift.length > 0, "the run saw nothing wrong");
            // [diagnosis]: the stack says which of the guide's causes it acted on, with its evidence.
            const named = result.diagnosis.find((c) => c.id === f.id);
            assert.ok(named && named.blocking && named.evidence.length > 0, `the exported diagnosis does not name ${f.id}: ${JSON.stringify(result.diagnosis)}`);
            assert.equal((await host.console(`test -s ${result.snapshot}/manifest`)).code, 0, `no snapshot at ${result.snapshot}`);
        });
    }

    it("[secrets] loginKey, adminKey and loginPassword: no line of either key's body and not the password in preview, up, outputs or state", async () => {
        const [keyHost, passwordHost] = await createHosts(2);
        hosts.push(keyHost, passwordHost);
        const keys = await ensureClientKeys();
        // The admin key is another key than the login's, accepted by root only.
        const adminKey = fs.readFileSync(keys.extra[0], "utf8");
        const adminPublic = fs.readFileSync(`${keys.extra[0]}.pub`, "utf8").trim();
        await keyHost.consoleOk(`install -d -m 700 /root/.ssh && printf '%s\\n' '${adminPublic}' >> /root/.ssh/authorized_keys`);
        await injectFault(keyHost, "S2");
        await injectFault(passwordHost, "S5");
        stack = await stackFor([
            { host: keyHost, extra: { console: undefined, ssh: { user: "root" } } },
            { host: passwordHost, method: "password" },
        ]);
        await stack.setConfig("sshremedy:adminKey", adminKey, true);
        const bodyLines = (key: string) => key.split("\n").filter((l) => l.length > 0 && !l.startsWith("-----"));
        const secrets = [...bodyLines(fs.readFileSync(keys.main, "utf8")), ...bodyLines(adminKey), testUsers.alice.password];
        assert.ok(secrets.length >= 11, `too few secret lines to look for: ${secrets.length}`);

        const preview = await stack.pulumi(["preview", "--diff"]);
        assert.equal(preview.code, 0, preview.stdout + preview.stderr);
        const up = await stack.up();
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        assert.ok((await sshLogin({ address: keyHost.address, ...(await faultLogin("S2")) })).ok, "the key login still fails");
        assert.ok((await sshLogin({ address: passwordHost.address, ...(await faultLogin("S5")) })).ok, "the password login still fails");
        const outputs = await stack.pulumi(["stack", "output", "--json"]);
        const exported = await stack.pulumi(["stack", "export"]);
        const places: [string, string][] = [
            ["preview", preview.stdout + preview.stderr], ["pulumi up", up.stdout + up.stderr],
            ["stack outputs", outputs.stdout], ["stack export", exported.stdout], ["the state files", stack.stateText()],
        ];
        for (const [where, text] of places) {
            assert.ok(text.length > 0, `nothing read from ${where}`);
            for (const secret of secrets) {
                assert.ok(!text.includes(secret), `${where} holds a secret (${secret === testUsers.alice.password ? "the login password" : "a line of a private key"})`);
            }
        }
    });

    it("[S9] SELinux: this kernel has none, so the concern reports it and changes nothing", async () => {
        const host = await createHost();
        hosts.push(host);
        stack = await stackFor([{ host }]);
        const up = await stack.up();
        assert.equal(up.code, 0, up.stdout + up.stderr);
        const result = ((await stack.outputs()).results as Record<string, { changed: string[] }>)[host.name];
        assert.ok(!result.changed.includes("selinux-mode"), `selinux-mode changed on a kernel without SELinux: ${result.changed}`);
        assert.equal(fs.existsSync("/sys/fs/selinux/enforce"), false, "this test is only honest on a kernel without SELinux");
    });

    it("[multi-fault] one host with S1, S6, S7 and S15 at once is repaired by one pulumi up; [diagnosis] the stack exports those four causes", async () => {
        const host = await createHost();
        hosts.push(host);
        for (const id of ["S1", "S6", "S7", "S15"] as const) {
            (await injectFault(host, id)).release();
        }
        assert.equal((await sshLogin({ address: host.address, ...(await faultLogin("S1")) })).ok, false);
        stack = await stackFor([{ host }]);
        const up = await stack.up();
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        assert.ok((await sshLogin({ address: host.address, ...(await faultLogin("S1")) })).ok);
        const result = ((await stack.outputs()).results as Record<string, { diagnosis: { id: string; blocking: boolean }[] }>)[host.name];
        assert.deepEqual(result.diagnosis.filter((c) => c.blocking).map((c) => c.id).sort(), ["S1", "S15", "S6", "S7"]);
        const again = await stack.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        assert.equal(again.code, 0, `a converged host still changed:\n${again.stdout}`);
    });

    it("[multi-fault] S12 and S15 at once: sshd cannot load to name its bad line, yet one pulumi up repairs both", async () => {
        const host = await createHost();
        hosts.push(host);
        for (const id of ["S12", "S15"] as const) {
            (await injectFault(host, id)).release();
        }
        assert.equal((await sshLogin({ address: host.address, ...(await faultLogin("S15")) })).ok, false);
        stack = await stackFor([{ host }]);
        const up = await stack.up();
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        assert.ok((await sshLogin({ address: host.address, ...(await faultLogin("S15")) })).ok);
        const result = ((await stack.outputs()).results as Record<string, { diagnosis: { id: string; blocking: boolean }[] }>)[host.name];
        assert.deepEqual(result.diagnosis.filter((c) => c.blocking).map((c) => c.id).sort(), ["S12", "S15"]);
    });

    it("[fleet] ten hosts, each with a different fault, repaired by one pulumi up", async () => {
        const ids: FaultId[] = ["S1", "S2", "S3", "S4", "S6", "S7", "S11", "S12", "S14", "S15"];
        hosts.push(...(await createHosts(ids.length)));
        for (const [i, id] of ids.entries()) {
            (await injectFault(hosts[i], id)).release();
        }
        stack = await stackFor(hosts.map((host) => ({ host })));
        const up = await stack.up();
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        for (const [i, id] of ids.entries()) {
            const r = await sshLogin({ address: hosts[i].address, ...(await faultLogin(id)) });
            assert.ok(r.ok, `${hosts[i].name} [${id}] still refuses: ${r.symptom}`);
        }
    });
});
