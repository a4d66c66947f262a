import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { run } from "../harness/exec";
import { createHost, destroyHost, ensureClientKeys, Flavour, sleep, startHost, stopHost, TestHost } from "../harness/lab";
import { afterSshdRestart, effectiveMaxAuthTries, installHold, sshdRestarting } from "../harness/holds";
import { sshLogin } from "../harness/ssh";
import { TestStack } from "../harness/pulumi";
import { sshStackFor, startUp } from "../harness/stacks";

/**
 * Resources fail under a run: the host's disk is full, its link goes down mid-change, it reboots
 * inside the dead-man window. Each time the host ends on a configuration that admits the declared
 * login, the run says what happened, and the next run converges.
 */
describe("resource faults during a run", function () {
    this.timeout(300_000);
    let host: TestHost | undefined;
    let stack: TestStack | undefined;
    let linkDown: string | undefined;
    afterEach(async () => {
        if (linkDown) await run(["ip", "link", "set", linkDown, "up"]);
        linkDown = undefined;
        if (stack) await stack.dispose();
        if (host) await destroyHost(host);
        host = undefined;
        stack = undefined;
    });

    const declared = { deadmanWindowSec: 10, sshd: { settings: { maxAuthTries: 3 } } };
    const effective = effectiveMaxAuthTries;
    const login = async (h: TestHost) => sshLogin({ address: h.address, user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 });
    const config = (h: TestHost) => fs.readFileSync(path.join(h.root, "etc/ssh/sshd_config"));

    it("[disk-full] the file system of the snapshots is full: the snapshot fails, nothing changes, the error says so; with room, the next run converges", async () => {
        host = await createHost();
        const h = host;
        // A small file system at the snapshots' place, filled up: writes there fail with ENOSPC.
        await h.consoleOk("mkdir -p /var/lib/sshremedy && mount -t tmpfs -o size=256k tmpfs /var/lib/sshremedy"
            + " && (dd if=/dev/zero of=/var/lib/sshremedy/filler bs=4k 2>/dev/null || true) && [ \"$(df -Pk /var/lib/sshremedy | awk 'NR == 2 { print $4 }')\" -lt 8 ]");
        const before = config(h);
        stack = await sshStackFor(h, declared);
        const up = await stack.up();
        const out = up.stdout + up.stderr;
        assert.notEqual(up.code, 0, "the run went on without a snapshot");
        assert.match(out, /no room for the snapshot in \/var\/lib\/sshremedy\/snapshots: \d+ KiB free on its file system, about \d+ KiB needed \(the disk is full\); nothing was changed/);
        assert.doesNotMatch(out, /Apply .*creat(ed|ing)/, "the apply step ran");
        assert.ok(config(h).equals(before), "sshd_config changed without a snapshot");
        assert.equal(await effective(h), "6");
        assert.equal((await h.consoleOk("ls /var/lib/sshremedy/snapshots 2>/dev/null | wc -l; ls /run/sshremedy 2>/dev/null | wc -l")).trim(), "0\n0",
            "a half-made snapshot, a lock or a dead-man was left behind");
        assert.ok((await login(h)).ok);

        // Room again: the next run needs no manual step (the lock was let go).
        await h.consoleOk("rm -f /var/lib/sshremedy/filler");
        const again = await stack.up();
        assert.equal(again.code, 0, again.stdout + again.stderr);
        assert.equal(await effective(h), "3");
    });

    it("[link-drop] the host's link goes down after the swap: the host reverts by itself, the run fails saying so, the next run converges", async () => {
        host = await createHost();
        const h = host;
        const before = config(h);
        stack = await sshStackFor(h, declared);
        const hold = await installHold(h, "systemctl", sshdRestarting);
        const started = Date.now();
        const up = startUp(stack);
        await hold.reached(90_000);
        await hold.remove();
        assert.ok(!config(h).equals(before), "held after the swap, yet sshd_config is unchanged");
        // The machine's end of the host's link: no packet passes either way any more.
        await run(["ip", "link", "set", h.netns, "down"]);
        linkDown = h.netns;
        await hold.release();

        const r = await up.done;
        const took = (Date.now() - started) / 1000;
        assert.notEqual(r.code, 0, "the run succeeded with the link down");
        assert.match(r.output, /Apply .*apply.*(Timeout, server .* not responding|Connection .*(closed|reset|timed out)|Broken pipe)/s);
        assert.match(r.output, /restoring failed too .*the dead-man revert restores it when its window ends/s);
        assert.ok(took < 110, `the run took ${took} s to notice the link was down`);

        // The host reverted on its own while nobody could reach it.
        assert.ok(config(h).equals(before), "the host did not revert to its snapshot while cut off");
        await run(["ip", "link", "set", h.netns, "up"]);
        linkDown = undefined;
        let ok = false;
        for (const end = Date.now() + 15_000; !ok && Date.now() < end; await sleep(500)) ok = (await login(h)).ok;
        assert.ok(ok, "the declared login does not work once the link is back");
        const again = await stack.up();
        assert.equal(again.code, 0, again.stdout + again.stderr);
        assert.equal(await effective(h), "3");
    });

    for (const flavour of ["systemd", "sysv"] as Flavour[]) {
        it(`[reboot] ${flavour}: the host reboots inside the dead-man window after the restart: it comes back on its snapshot, which admits the login; the next run converges`, async () => {
            host = await createHost({ flavour });
            let h = host;
            const before = config(h);
            stack = await sshStackFor(h, { ...declared, deadmanWindowSec: 120 });
            const origPid = (await h.consoleOk("cat /run/sshd.pid")).trim();
            const generation = async () => Number((await h.consoleOk("cat /var/lib/sshremedy/generation 2>/dev/null || echo 0")).trim());
            const generationBefore = await generation();
            const hold = await installHold(h, "tr", afterSshdRestart(origPid));
            const up = startUp(stack);
            await hold.reached(90_000);
            await hold.remove();
            assert.equal(await effective(h), "3", "the change is not in place before the reboot");

            // Power off and on, well inside the 120 s window: timers and waiters die with the host.
            const rebootAt = Date.now();
            await stopHost(h, { graceMs: 5_000 });
            fs.rmSync(path.join(h.root, "var/lib/sr-hold"), { recursive: true, force: true });
            host = h = await startHost(h);
            const r = await up.done;
            assert.notEqual(r.code, 0, "the run succeeded across a reboot of its host");
            let ok = false;
            for (const end = Date.now() + 40_000; !ok && Date.now() < end; await sleep(500)) ok = (await login(h)).ok;
            const back = (Date.now() - rebootAt) / 1000;
            assert.ok(ok, "the declared login does not work after the reboot");
            assert.ok(back < 120, `back after ${back} s: not inside the window, so not the boot's doing`);
            assert.ok(config(h).equals(before), "the host kept an unverified change across the reboot");
            assert.equal(await effective(h), "6");
            assert.match(await h.consoleOk("ls /var/lib/sshremedy/armed"), /\.fired$/m, "the boot hook did not record that it reverted");
            // The revert counted a generation: a plan made before it is never applied after it.
            assert.equal(await generation(), generationBefore + 1, "the boot revert did not count a generation");

            const again = await stack.up();
            assert.equal(again.code, 0, again.stdout + again.stderr);
            assert.equal(await effective(h), "3");
        });
    }
});
