import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { composePhase } from "../../components/core/compose";
import { byReference } from "../../components/tencent/transport";
import { tatContentLimit, tatLibraryDir } from "../../components/tencent/tat";

const sh = (script: string) => spawnSync("/bin/sh", ["-s"], { input: script, encoding: "utf8" });

describe("[tat] a phase sent by reference: the host scripts once in the library, the skeleton in each RunCommand", () => {
    const phase = composePhase([
        { script: "host/host-keys", label: "host-keys" },
        { script: "hosts-access/probe", env: { SR_HOSTS_ALLOW: "/nonexistent/allow", SR_HOSTS_DENY: "/nonexistent/deny" }, label: "hosts" },
    ]);

    it("every marked script goes to the library under its sha256, and the skeleton is small enough for one RunCommand", () => {
        const { phase: small, library } = byReference(phase);
        assert.ok(library.size >= 3, `library: ${library.size}`);
        for (const [sha, text] of library) {
            assert.equal(crypto.createHash("sha256").update(text).digest("hex"), sha);
            assert.ok(small.includes(`. '${tatLibraryDir}/${sha}.sh'`));
            assert.ok(!small.includes(text.slice(0, 200)), "a script is still inline");
        }
        assert.ok(!/# sshremedy-script/.test(small));
        assert.ok(Buffer.from(small).toString("base64").length < tatContentLimit / 4);
    });

    it("the skeleton with the library on disk prints exactly what the inline phase prints", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-lib-"));
        try {
            const { phase: small, library } = byReference(phase);
            for (const [sha, text] of library) fs.writeFileSync(path.join(dir, `${sha}.sh`), text);
            const inline = sh(phase);
            const byRef = sh(small.split(tatLibraryDir).join(dir));
            assert.equal(byRef.stdout, inline.stdout);
            assert.equal(byRef.status, inline.status);
            assert.match(inline.stdout, /step_end=hosts/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
