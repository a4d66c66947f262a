import { strict as assert } from "assert";
import { createHost, destroyHost, ensureClientKeys, sleep, TestHost } from "../harness/lab";
import { afterSshdRestart, effectiveMaxAuthTries, installHold, sshdRestarting } from "../harness/holds";
import { sshLogin } from "../harness/ssh";
import { TestStack } from "../harness/pulumi";
import { sshStackFor, startUp } from "../harness/stacks";

/**
 * [concurrent] Two stacks change one host at the same time. A lock on the host serialises them:
 * the second waits (a bounded time) for the first to finish, and then changes nothing when the
 * host is no longer what its probe planned from; its next run converges. No dead-man of one run
 * reverts the other's verified change.
 */
describe("[concurrent] two runs against one host", function () {
    this.timeout(300_000);
    let host: TestHost | undefined;
    const stacks: TestStack[] = [];
    afterEach(async () => {
        for (const s of stacks.splice(0)) await s.dispose();
        if (host) await destroyHost(host);
        host = undefined;
    });

    const effective = effectiveMaxAuthTries;
    const armed = async (h: TestHost) =>
        (await h.consoleOk("ls /run/sshremedy/ /var/lib/sshremedy/armed/ 2>/dev/null | grep -c '^deadman-[^.]*$\\|^sshremedy-[^.]*$' || true")).trim();

    it("[concurrent] the second run waits for the first one's lock, then changes nothing on a host it did not probe; its rerun converges and stays", async () => {
        host = await createHost();
        const h = host;
        const a = await sshStackFor(h, { deadmanWindowSec: 20, sshd: { settings: { maxAuthTries: 3 } } });
        const b = await sshStackFor(h, { deadmanWindowSec: 10, lockWaitSec: 60, sshd: { settings: { maxAuthTries: 4 } } });
        stacks.push(a, b);
        const snapshots = async () => Number((await h.consoleOk("ls /var/lib/sshremedy/snapshots 2>/dev/null | wc -l")).trim());

        // A holds the lock with its change in place and not yet verified.
        const origPid = (await h.consoleOk("cat /run/sshd.pid")).trim();
        const hold = await installHold(h, "tr", afterSshdRestart(origPid));
        const runA = startUp(a);
        await hold.reached(90_000);
        await hold.remove();
        assert.equal(await effective(h), "3", "A's change is in place while A holds the lock");

        // B probes now (the host it sees is A's unverified change) and must wait for A.
        const bStarted = Date.now();
        const runB = startUp(b);
        await sleep(8_000);
        assert.equal(await snapshots(), 1, "B took a snapshot while A held the lock");
        await hold.release();
        const [upA, upB] = await Promise.all([runA.done, runB.done]);
        const bTook = (Date.now() - bStarted) / 1000;
        assert.equal(upA.code, 0, `A failed:\n${upA.output.slice(-3000)}`);
        assert.notEqual(upB.code, 0, `B applied a plan made from a host A changed since:\n${upB.output.slice(-3000)}`);
        assert.match(upB.output, /the host changed since this run probed it .*nothing was changed; run pulumi up again/);
        assert.ok(bTook >= 8, `B did not wait for the lock (${bTook} s)`);
        assert.equal(await effective(h), "3", "B's failed run changed the host");
        assert.equal(await snapshots(), 1, "B took a snapshot although it changed nothing");
        assert.equal(await armed(h), "0", "a dead-man is still armed after both runs");

        // B again: it plans from A's verified change, and its own change stays past any window.
        const again = await b.up();
        assert.equal(again.code, 0, again.stdout + again.stderr);
        assert.equal(await effective(h), "4");
        await sleep(25_000);
        assert.equal(await effective(h), "4", "a dead-man reverted B's verified change");
        assert.ok((await sshLogin({ address: h.address, user: "alice", keys: [(await ensureClientKeys()).main] })).ok);
    });

    it("[concurrent] a run that cannot get the lock in lockWaitSec fails naming the holder, and changes nothing; the holder finishes", async () => {
        host = await createHost();
        const h = host;
        const a = await sshStackFor(h, { deadmanWindowSec: 40, sshd: { settings: { maxAuthTries: 3 } } });
        const b = await sshStackFor(h, { lockWaitSec: 3, sshd: { settings: { maxAuthTries: 5 } } });
        stacks.push(a, b);
        // A is stuck between its swap and its restart.
        const hold = await installHold(h, "systemctl", sshdRestarting);
        const runA = startUp(a);
        await hold.reached(90_000);
        await hold.remove();
        const before = await h.consoleOk("cat /etc/ssh/sshd_config");

        const t0 = Date.now();
        const upB = await b.up();
        const took = (Date.now() - t0) / 1000;
        assert.notEqual(upB.code, 0, "B ran while A held the lock");
        assert.match(upB.stdout + upB.stderr, new RegExp(`another sshremedy run is changing this host: its lock is held by ${a.stack}\\.${h.name}\\.[0-9a-f]+ .*this run waited 3 s and changed nothing`));
        assert.ok(took < 40, `B waited ${took} s, not the 3 s it was given`);
        assert.equal(await h.consoleOk("cat /etc/ssh/sshd_config"), before, "B changed sshd_config");

        await hold.release();
        const upA = await runA.done;
        assert.equal(upA.code, 0, upA.output.slice(-3000));
        assert.equal(await effective(h), "3");
        assert.equal(await armed(h), "0");
    });
});
