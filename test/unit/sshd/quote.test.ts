import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { shellQuote, sshdValue } from "../../../components/sshd-config";

describe("shellQuote", () => {
    it("wraps a value in single quotes", () => {
        assert.equal(shellQuote("alice"), "'alice'");
        assert.equal(shellQuote(""), "''");
        assert.equal(shellQuote("it's"), "'it'\\''s'");
    });

    const hostile = ["$(id)", "`id`", "a; rm -rf /", "line\nbreak", "'", "''", '"', "\\", "*", "$HOME", "-n", "ünïcødé", "a\tb"];
    for (const value of hostile) {
        it(`passes ${JSON.stringify(value)} through /bin/sh unchanged`, () => {
            assert.equal(execFileSync("/bin/sh", ["-c", `printf '%s' ${shellQuote(value)}`], { encoding: "utf8" }), value);
        });
    }

    it("refuses a NUL byte, naming the argument", () => {
        assert.throws(() => shellQuote("a\0b", "snapshot.path"),
            { message: "snapshot.path: contains a NUL byte, which no shell argument can carry. Fix: remove the NUL byte" });
    });
});

describe("sshdValue", () => {
    it("returns a plain token unchanged", () => {
        assert.equal(sshdValue("publickey,password"), "publickey,password");
        assert.equal(sshdValue("LC_*"), "LC_*");
    });

    it("double-quotes a value with spaces only where allowed", () => {
        assert.equal(sshdValue("domain users", "allowGroups[0]", { allowSpaces: true }), '"domain users"');
        assert.throws(() => sshdValue("domain users", "allowUsers[0]"),
            { message: "allowUsers[0]: contains a space, so sshd would read it as separate values. Fix: give one value per list entry, without spaces" });
    });

    const cases: Array<[string, string, string]> = [
        ["an empty value", "", "v: is empty. Fix: give a non-empty value or omit the argument"],
        ["a newline", "no\nPermitRootLogin yes", "v: contains a line break, which would start a new sshd_config directive. Fix: remove the line break"],
        ["a carriage return", "no\r", "v: contains a line break, which would start a new sshd_config directive. Fix: remove the line break"],
        ["a NUL byte", "a\0", "v: contains a NUL byte. Fix: remove the NUL byte"],
        ["an escape character", "a\x1b[31m", "v: contains the control character U+001B. Fix: remove it; sshd_config values are printable text"],
        ["DEL", "a\x7f", "v: contains the control character U+007F. Fix: remove it; sshd_config values are printable text"],
        ["trailing whitespace", "no ", "v: has leading or trailing whitespace. Fix: trim the value"],
        ["a '#'", "a#b", "v: contains '#', which starts a comment in sshd_config. Fix: remove the '#'"],
        ["a backslash", "a\\b", "v: contains \\, which sshd_config's tokenizer treats as quoting. Fix: remove the \\"],
    ];
    for (const [what, value, message] of cases) {
        it(`refuses ${what}`, () => assert.throws(() => sshdValue(value, "v", { allowSpaces: true }), { message }));
    }
});
