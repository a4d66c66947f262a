import { strict as assert } from "assert";
import { spawnCollect } from "../../components/core/spawner";

const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };

describe("[spawner] processes started from the helper process", () => {
    it("runs argv without a shell: standard input in, output and exit status out", async () => {
        const r = await spawnCollect(["/bin/sh", "-c", "cat; echo oops >&2; exit 3", "$(touch /tmp/never)"], { env, input: "it's $(x) `y`\n", timeoutMs: 10_000 });
        assert.deepEqual(r, { code: 3, stdout: "it's $(x) `y`\n", stderr: "oops\n" });
    });

    it("gives each child exactly the environment asked for, not this process's", async () => {
        const r = await spawnCollect(["/usr/bin/env"], { env: { ONLY: "this" }, input: "", timeoutMs: 10_000 });
        assert.equal(r.stdout, "ONLY=this\n");
    });

    it("kills a child that outlives its timeout", async () => {
        const started = Date.now();
        const r = await spawnCollect(["/bin/sleep", "30"], { env, input: "", timeoutMs: 300 });
        assert.equal(r.code, null);
        assert.ok(Date.now() - started < 10_000);
    });

    it("rejects a program that cannot be started, and keeps serving", async () => {
        await assert.rejects(spawnCollect(["/nonexistent/program"], { env, input: "", timeoutMs: 10_000 }), /ENOENT/);
        assert.equal((await spawnCollect(["/bin/echo", "still here"], { env, input: "", timeoutMs: 10_000 })).stdout, "still here\n");
    });

    it("runs fifty at once, each answer to its own caller", async () => {
        const rs = await Promise.all(Array.from({ length: 50 }, (_, i) =>
            spawnCollect(["/bin/sh", "-c", `sleep 0.$((RANDOM % 3)); echo ${i}`], { env, input: "", timeoutMs: 20_000 })));
        assert.deepEqual(rs.map((r) => r.stdout), Array.from({ length: 50 }, (_, i) => `${i}\n`));
    });
});
