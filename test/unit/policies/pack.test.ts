import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { policies } from "../../../policies/all";
import { sshAccessType as accessToken, sshdConfigType as sshdToken } from "../../../policies/declaration";
import { sshAccessType } from "../../../components/ssh-access";
import { sshdConfigType } from "../../../components/sshd-config/sshd-config";

describe("policy pack sshremedy", () => {
    it("validates the components by their own type tokens", () => {
        assert.equal(accessToken, sshAccessType);
        assert.equal(sshdToken, sshdConfigType);
    });

    it("names every policy sshremedy-…, kebab-case, once, with one file per policy", () => {
        const names = policies.map((p) => p.name);
        assert.equal(new Set(names).size, names.length);
        for (const n of names) assert.match(n, /^sshremedy-[a-z0-9]+(-[a-z0-9]+)*$/);
        const files = fs.readdirSync(path.resolve(__dirname, "../../../policies")).filter((f) => /^(disallow|require|limit)-/.test(f));
        assert.equal(files.length, policies.length);
    });

    it("makes the lockout policies mandatory and the posture policies advisory by default", () => {
        const level = Object.fromEntries(policies.map((p) => [p.name, p.enforcementLevel]));
        for (const n of ["sshremedy-sshd-disallow-excluded-login-user", "sshremedy-sshd-disallow-disabled-login-method",
            "sshremedy-sshd-disallow-refused-root-login", "sshremedy-hosts-access-disallow-denied-source",
            "sshremedy-firewall-disallow-excluded-source", "sshremedy-sshd-require-max-auth-tries-for-keys",
            "sshremedy-sshd-disallow-unreachable-listen-address", "sshremedy-require-snapshot-before-change"]) {
            assert.equal(level[n], "mandatory", n);
        }
        assert.equal(Object.values(level).filter((l) => l === "advisory").length, policies.length - 8);
    });
});
