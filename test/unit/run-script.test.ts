import { strict as assert } from "assert";
import { describeTarget, runScript } from "../../components/core/transport";

describe("runScript over a console target (run locally, no root)", () => {
    it("sends the script on stdin to /bin/sh, so nothing in it is parsed as a command line", async () => {
        const hostile = "it's $(touch /tmp/never) `x` \"q\"";
        const r = await runScript({ kind: "console", prefix: [] }, `printf '%s\\n' '${hostile.replace(/'/g, "'\\''")}'`);
        assert.equal(r.code, 0);
        assert.equal(r.stdout, `${hostile}\n`);
    });

    it("reports the exit status and stderr of a failing script", async () => {
        const r = await runScript({ kind: "console", prefix: ["env", "-i"] }, "echo broken >&2; exit 3");
        assert.equal(r.code, 3);
        assert.equal(r.stderr, "broken\n");
    });

    it("names a target without its private key", () => {
        const d = describeTarget({ kind: "ssh", host: "198.18.0.2", user: "root", privateKey: "SECRET-KEY-TEXT" });
        assert.equal(d, "ssh root@198.18.0.2:22");
    });
});
