import { strict as assert } from "assert";
import { composePhase } from "../../components/core/compose";
import { hostsAccessConcern } from "../../components/hosts-access/hosts-access";
import { injectFault } from "../harness/faults";
import { ensureClientKeys } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { probeAndPlan, runPhase } from "../harness/phases";
import { sshLogin } from "../harness/ssh";

/** The hosts-access probe and apply scripts on real test hosts, whose sshd reads hosts.allow/deny (libwrap). */



describe("HostsAccess scripts on real hosts", function () {
    this.timeout(60_000);
    const newHost = hostsPerTest();

    for (const flavour of ["systemd", "sysv"] as const) {
        it(`[S6] ${flavour}: 'sshd: ALL' in hosts.deny is overridden by one hosts.allow line, login works, a re-run changes nothing`, async () => {
            const host = await newHost({ flavour });
            const fault = await injectFault(host, "S6");
            // libwrap looks the client up in DNS before it answers: the default timeout, not a short one.
            const before = await sshLogin({ address: host.address, ...fault.login });
            assert.equal(before.ok, false);
            assert.match(before.symptom, fault.symptom);

            const concern = hostsAccessConcern({ sshSources: [host.peerAddress] });
            const p = (await probeAndPlan(host, concern)).plan;
            assert.equal(p.pending, true);
            assert.ok(p.drift.some((d) => d.startsWith(`sshd denies ${host!.peerAddress}: /etc/hosts.deny line`)), p.drift.join("\n"));
            const applied = await runPhase(host, p.apply);
            assert.match(applied, /^written=\/etc\/hosts\.allow$/m);

            const after = await sshLogin({ address: host.address, ...fault.login, connectTimeoutSec: 3 });
            assert.ok(after.ok, after.symptom);
            assert.match(await host.consoleOk("cat /etc/hosts.deny"), /^sshd: ALL$/m, "hosts.deny still denies everyone else");
            assert.match(await host.consoleOk("head -2 /etc/hosts.allow"), new RegExp(`^sshd: ${host.peerAddress.replace(/\./g, "\\.")}$`, "m"));
            const again = (await probeAndPlan(host, concern)).plan;
            assert.equal(again.pending, false, again.drift.join("\n"));
            assert.deepEqual(again.apply, []);
        });
    }

    it("[S6] hosts.allow declared whole: the denying rule is commented out, other daemons' rules stay", async () => {
        const host = await newHost();
        await injectFault(host, "S6");
        await host.consoleOk("echo 'in.telnetd: ALL' >> /etc/hosts.deny");
        const concern = hostsAccessConcern({ sshSources: [host.peerAddress], allow: { kind: "content", text: "" } });
        await runPhase(host, ((await probeAndPlan(host, concern)).plan).apply);
        const deny = await host.consoleOk("grep -v '^#[^ ]' /etc/hosts.deny | grep -v '^#$'");
        assert.match(deny, /^# sshremedy: sshd: ALL$/m);
        assert.match(deny, /^in\.telnetd: ALL$/m);
        assert.equal(await host.consoleOk("cat /etc/hosts.allow"), "");
        const login = await sshLogin({ address: host.address, user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 });
        assert.ok(login.ok, login.symptom);
        assert.equal((await probeAndPlan(host, concern)).plan.pending, false);
    });

    it("an edit made between probe and apply stops the change", async () => {
        const host = await newHost();
        await injectFault(host, "S6");
        const concern = hostsAccessConcern({ sshSources: [host.peerAddress] });
        const p = (await probeAndPlan(host, concern)).plan;
        await host.consoleOk("echo 'ALL: 203.0.113.9' >> /etc/hosts.allow");
        const r = await host.console("/bin/sh -s", { input: composePhase(p.apply) });
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /\/etc\/hosts\.allow changed since it was probed/);
        assert.match(r.stdout, /^failed_step=hosts-access\/apply$/m);
    });
});
