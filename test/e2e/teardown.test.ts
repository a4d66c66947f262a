import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { run } from "../harness/exec";
import { pidAlive, reclaimStaleSlots, sleep } from "../harness/lab";

interface ChildHost {
    slot: number;
    ns: string;
    initPid: number;
    root: string;
}

const fixtures = path.join(__dirname, "fixtures", "teardown");

/** Starts a child process, resolves with it and the host it reports on stdout. */
function startChild(argv: string[]): Promise<{ host: ChildHost; exit: Promise<number | null>; pid: number }> {
    return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        const exit = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
        child.stderr.on("data", (d) => (err += d));
        child.stdout.on("data", (d) => {
            out += d;
            const line = out.split("\n").find((l) => l.startsWith("{\"slot\""));
            if (line) {
                resolve({ host: JSON.parse(line) as ChildHost, exit, pid: child.pid! });
            }
        });
        exit.then((code) => reject(new Error(`child exited ${code} before reporting a host: ${out} ${err}`)));
    });
}

/** Everything a host could leave behind, named; empty when nothing is left. */
async function leftovers(h: ChildHost): Promise<string[]> {
    const left: string[] = [];
    if ((await run(["ip", "netns", "list"])).stdout.split("\n").some((l) => l.split(" ")[0] === h.ns)) {
        left.push(`network namespace ${h.ns}`);
    }
    if ((await run(["ip", "link", "show", h.ns])).code === 0) {
        left.push(`veth ${h.ns}`);
    }
    if (fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.includes(h.root))) {
        left.push(`mount under ${h.root}`);
    }
    if (pidAlive(h.initPid)) {
        left.push(`process ${h.initPid}`);
    }
    if (fs.existsSync(path.dirname(h.root))) {
        left.push(`folder ${path.dirname(h.root)}`);
    }
    if (fs.existsSync(`/run/sshremedy-lab/slots/${h.slot}`)) {
        left.push(`slot ${h.slot}`);
    }
    return left;
}

async function assertGone(h: ChildHost): Promise<void> {
    // Up to a second for the kernel to finish reaping what was killed.
    for (let i = 0; i < 20 && (await leftovers(h)).length > 0; i++) {
        await sleep(50);
    }
    assert.deepEqual(await leftovers(h), []);
}

describe("test-host teardown leaves nothing behind", function () {
    this.timeout(120_000);

    it("after a failing mocha test that does no cleanup of its own", async () => {
        const c = await startChild(["mocha", "--no-config", "--require", "ts-node/register", path.join(fixtures, "failing.fixture.ts")]);
        assert.notEqual(await c.exit, 0, "the fixture test was meant to fail");
        await assertGone(c.host);
    });

    it("after an uncaught error in the process that made the host", async () => {
        const c = await startChild(["ts-node", path.join(fixtures, "child.ts"), "throw"]);
        assert.notEqual(await c.exit, 0);
        await assertGone(c.host);
    });

    it("after the test run is interrupted (SIGINT)", async () => {
        const c = await startChild(["ts-node", path.join(fixtures, "child.ts"), "wait"]);
        assert.ok((await leftovers(c.host)).length > 0, "the host was never up");
        process.kill(c.pid, "SIGINT");
        await c.exit;
        await assertGone(c.host);
    });

    it("after the test process is killed outright (SIGKILL): the next run reclaims the host", async () => {
        const c = await startChild(["ts-node", path.join(fixtures, "child.ts"), "wait"]);
        process.kill(c.pid, "SIGKILL");
        await c.exit;
        assert.ok((await leftovers(c.host)).length > 0, "nothing can clean up after SIGKILL but the next run");
        assert.ok(reclaimStaleSlots().includes(c.host.slot));
        await assertGone(c.host);
    });
});
