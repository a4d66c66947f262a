import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { composePhase } from "../../components/core/compose";

/** Every host script, as a file and as sent (after lib.sh, with hostile SR_* values): no root needed. */
describe("host scripts (static)", () => {
    const dir = path.join(__dirname, "..", "..", "components");
    const scripts = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory())
        .flatMap((d) => fs.readdirSync(path.join(dir, d.name)).filter((f) => f.endsWith(".sh")).map((f) => `${d.name}/${f.slice(0, -3)}`));

    it("finds the scripts", () => {
        assert.ok(scripts.includes("host/lib") && scripts.includes("host/snapshot") && scripts.length >= 15, scripts.join(" "));
    });

    for (const script of scripts) {
        it(`${script}.sh starts with set -eu, has no eval, and passes sh -n alone and as sent`, () => {
            const text = fs.readFileSync(path.join(dir, `${script}.sh`), "utf8");
            assert.equal(text.split("\n").find((l) => l.trim() !== "" && !l.startsWith("#")), "set -eu");
            assert.doesNotMatch(text.split("\n").filter((l) => !l.trim().startsWith("#")).join("\n"), /\beval\b/);
            execFileSync("sh", ["-n"], { input: text });
            if (script !== "host/lib") {
                execFileSync("sh", ["-n"], { input: composePhase([{ script, env: { SR_X: "a'b$(c)`d`\n\"e\"" } }]) });
            }
        });
    }
});
