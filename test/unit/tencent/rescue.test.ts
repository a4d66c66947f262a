import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { checkRescue } from "../../../components/declaration";
import { isDeclarationError } from "../../../components/core/errors";
import { rescueConcerns, sshAccessConcerns } from "../../../components/ssh-access";
import { inRoot, oneTimePassword, rescueRoot } from "../../../components/tencent/rescue";

/** The parts of the rescue way in that need no instance: its declaration, its password, its chroot wrapper. */

function declarationError(f: () => unknown): { argument: string; problem: string; fix: string } {
    try {
        f();
    } catch (e) {
        if (isDeclarationError(e)) return { argument: e.argument, problem: e.problem, fix: e.fix };
        throw e;
    }
    throw new Error("no DeclarationError");
}

describe("[rescue] the rescue way in, without an instance", () => {
    it("is off unless allowed: no rescue option, allowed false, or an empty object", () => {
        assert.equal(checkRescue("tencent.rescue", undefined), false);
        assert.equal(checkRescue("tencent.rescue", {}), false);
        assert.equal(checkRescue("tencent.rescue", { rescue: {} }), false);
        assert.equal(checkRescue("tencent.rescue", { rescue: { allowed: false } }), false);
        assert.deepEqual(checkRescue("tencent.rescue", { rescue: { allowed: true } }), { loginWaitSec: 180 });
        assert.deepEqual(checkRescue("tencent.rescue", { rescue: { allowed: true, device: "/dev/vdb1", loginWaitSec: 60 } }), { device: "/dev/vdb1", loginWaitSec: 60 });
    });

    it("bad options are refused under the user's own argument path, with the fix", () => {
        const cases: [unknown, string, RegExp][] = [
            [{ rescue: { allowed: "yes" } }, "tencent.rescue.allowed", /not true or false/],
            [{ rescue: { allowed: true, device: "/dev/vdb; rm -rf /" } }, "tencent.rescue.device", /not a device path/],
            [{ rescue: { allowed: true, device: "/dev/../etc/passwd" } }, "tencent.rescue.device", /not a device path/],
            [{ rescue: { allowed: true, stopType: "HARD" } }, "tencent.rescue.stopType", /not an option/],
            [{ rescue: true }, "tencent.rescue", /not an object/],
            [{ rescue: { allowed: true, loginWaitSec: 5 } }, "tencent.rescue.loginWaitSec", /from 10 to 1800/],
            [{ rescue: { allowed: true, loginWaitSec: "60" } }, "tencent.rescue.loginWaitSec", /from 10 to 1800/],
            [{ rescue: { allowed: true }, diskSnapshot: false }, "tencent.rescue.allowed", /needs the disk snapshot/],
        ];
        for (const [tencent, argument, problem] of cases) {
            const e = declarationError(() => checkRescue("tencent.rescue", tencent as never));
            assert.equal(e.argument, argument, JSON.stringify(tencent));
            assert.match(e.problem, problem);
            assert.ok(e.fix.length > 0);
        }
    });

    it("the concerns are rebuilt where the rescue step runs from plain data with no key in it, SELinux left out", () => {
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        const args = {
            login: { address: "198.18.0.10", user: "alice", sources: ["198.18.0.1"], publicKey: key, privateKey: "SECRET-KEY-TEXT" },
            tencent: { rescue: { allowed: true } }, sshd: { settings: { maxAuthTries: 4 } },
        };
        // buildAccess is reached through sshAccessConcerns; the rescue access rides on the pipeline spec.
        const all = sshAccessConcerns(args as never);
        assert.ok(all.some((c) => c.name === "firewall-allowlist"));
        const { resolveAccess } = require("../../../components/ssh-access");
        const r = resolveAccess(args).rescue;
        assert.ok(r, "no rescue access");
        assert.ok(!JSON.stringify(r).includes("SECRET-KEY-TEXT"), "the private key travels with the rescue access");
        assert.deepEqual(r.leftOut, ["selinux-mode"]);
        assert.equal(r.connection, "user=alice,host=198.18.0.1,addr=198.18.0.1,laddr=198.18.0.10,lport=22");
        const rebuilt = rescueConcerns(JSON.parse(JSON.stringify(r)));
        assert.deepEqual(rebuilt.map((c) => c.name), all.map((c) => c.name).filter((n) => n !== "selinux-mode"));
        for (const c of rebuilt) {
            assert.deepEqual(c.declaration, all.find((a) => a.name === c.name)!.declaration, c.name);
        }
    });

    it("a component whose concern lives only in the running kernel (SELinux) cannot allow rescue mode", () => {
        const e = declarationError(() => sshAccessConcerns({
            login: { address: "198.18.0.10", user: "alice", sources: ["198.18.0.1"], password: "x" }, tencent: { rescue: { allowed: true } },
        } as never, ["selinux-mode"]));
        assert.equal(e.argument, "tencent.rescue.allowed");
        assert.match(e.problem, /leaves nothing to repair from rescue mode/);
    });

    it("the one-time password meets CVM's rule (8-30 characters, upper, lower, digits, a symbol) and is never the same", () => {
        const seen = new Set<string>();
        for (let i = 0; i < 200; i++) {
            const p = oneTimePassword();
            assert.ok(p.length >= 8 && p.length <= 30);
            for (const cls of [/[A-Z]/, /[a-z]/, /[0-9]/, /[-_=+]/]) assert.match(p, cls);
            assert.match(p, /^[A-Za-z0-9_=+-]+$/);
            seen.add(p);
        }
        assert.equal(seen.size, 200);
    });

    it("the chroot wrapper carries any phase text intact and returns its exit code", function () {
        if (process.getuid?.() !== 0 || spawnSync("sh", ["-c", "command -v unshare"]).status !== 0) this.skip();
        // A root of its own: the wrapper only needs a mount point with /bin/sh, /proc and the session folder.
        const root = rescueRoot;
        const made = !fs.existsSync(root);
        fs.mkdirSync(root, { recursive: true });
        const mounted = spawnSync("mount", ["--bind", "/", root]).status === 0;
        try {
            assert.ok(mounted);
            spawnSync("mount", ["-t", "tmpfs", "tmpfs", path.join(root, "run")]);
            fs.mkdirSync(path.join(root, "run/sshremedy-rescue"), { recursive: true });
            const tricky = "SSHREMEDY_PHASE_END\n'\"$HOME`id`\\\n\u00e9";
            const phase = `cat <<'X'\n${tricky}\nX\necho "pid=$$"; ls /proc | grep -c '^[0-9]' ; exit 7\n`;
            const r = spawnSync("/bin/sh", ["-s"], { input: inRoot(phase), encoding: "utf8" });
            assert.equal(r.status, 7, r.stderr);
            const lines = r.stdout.split("\n");
            assert.equal(lines.slice(0, 3).join("\n"), tricky);
            // Its own pid namespace: the phase is pid 1 of a fresh /proc with a handful of processes.
            assert.equal(lines[3], "pid=1");
            assert.ok(Number(lines[4]) <= 3, `processes seen: ${lines[4]}`);
            assert.deepEqual(fs.readdirSync(path.join(root, "run/sshremedy-rescue")), [], "the phase file was left behind");
        } finally {
            spawnSync("umount", ["-R", root]);
            if (made) fs.rmdirSync(root);
        }
    });
});
