import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { compareEffective, effectiveChecks, parseSshdT, type SshdSettings } from "../../../components/sshd-config";
import { compliant } from "./fixtures/compliant";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", name), "utf8");

/**
 * Settings whose managed rendering of Debian 12's sshd_config produced fixtures/sshd-T-managed-alice.txt:
 * `sshd -T -f <file> -h /tmp/sr-probe/hk -C user=alice,host=x,addr=198.18.0.1` in a Debian 12 root (OpenSSH 9.2p1).
 */
const probe: SshdSettings = {
    port: 2222, addressFamily: "any", listenAddress: ["0.0.0.0", "[0:0::1]:2200"], hostKey: ["/tmp/sr-probe/hk"],
    loginGraceTime: "1m30s", maxStartups: 20, maxAuthTries: 4, maxSessions: 3, permitRootLogin: "prohibit-password",
    pubkeyAuthentication: true, passwordAuthentication: false, kbdInteractiveAuthentication: true,
    authenticationMethods: ["publickey", "publickey,keyboard-interactive:pam"],
    authorizedKeysFile: [".ssh/authorized_keys", "/etc/ssh/keys/%u"], strictModes: true, usePAM: true,
    allowUsers: ["alice", "bob@10.0.0.0/8"], denyUsers: ["mallory"], allowGroups: ["domain users", "ops"], denyGroups: null,
    extra: { ClientAliveInterval: "300", AcceptEnv: ["LANG", "LC_*"] },
};

describe("effectiveChecks", () => {
    it("lists what sshd -T prints for each typed setting", () => {
        assert.deepEqual(effectiveChecks(compliant), [
            { keyword: "port", expected: ["22"] },
            { keyword: "addressfamily", expected: ["any"] },
            { keyword: "listenaddress", expected: ["0.0.0.0:22", "[2001:db8::1]:2222"] },
            { keyword: "permitrootlogin", expected: ["without-password"] },
            { keyword: "pubkeyauthentication", expected: ["yes"] },
            { keyword: "passwordauthentication", expected: ["no"] },
            { keyword: "kbdinteractiveauthentication", expected: ["no"] },
            { keyword: "authenticationmethods", expected: ["publickey"] },
            { keyword: "allowusers", expected: ["alice", "bob@10.0.0.0/8"] },
            { keyword: "denyusers", expected: ["mallory"] },
            { keyword: "allowgroups", expected: ["ops", "domain users"] },
            { keyword: "denygroups", expected: ["nologin"] },
            { keyword: "maxauthtries", expected: ["6"] },
            { keyword: "maxstartups", expected: ["10:30:100"] },
            { keyword: "maxsessions", expected: ["10"] },
            { keyword: "logingracetime", expected: ["120"] },
            { keyword: "usepam", expected: ["yes"] },
            { keyword: "strictmodes", expected: ["yes"] },
            { keyword: "authorizedkeysfile", expected: [".ssh/authorized_keys /etc/ssh/keys/%u"] },
            { keyword: "hostkey", expected: ["/etc/ssh/ssh_host_ed25519_key"] },
        ]);
    });

    it("expects no line for a list declared absent", () => {
        assert.deepEqual(effectiveChecks({ allowUsers: null, denyGroups: [] }),
            [{ keyword: "allowusers", expected: [] }, { keyword: "denygroups", expected: [] }]);
    });

    it("skips listen addresses without a port when the port is not declared", () => {
        assert.deepEqual(effectiveChecks({ listenAddress: ["10.0.0.1"] }), []);
        assert.deepEqual(effectiveChecks({ listenAddress: ["10.0.0.1:2200"] }), [{ keyword: "listenaddress", expected: ["10.0.0.1:2200"] }]);
    });

    it("leaves out keywords a declared Match block sets, whose value depends on the connection", () => {
        const checks = effectiveChecks({
            passwordAuthentication: false, maxAuthTries: 3,
            match: [{ criteria: { user: ["backup"] }, settings: { passwordAuthentication: true } }],
        });
        assert.deepEqual(checks, [{ keyword: "maxauthtries", expected: ["3"] }]);
    });

    it("matches real sshd -T output for the probe settings", () => {
        const mismatches = compareEffective(effectiveChecks(probe), parseSshdT(fixture("sshd-T-managed-alice.txt")));
        // The capture also passed the key with -h, so sshd printed it twice.
        assert.deepEqual(mismatches, [{ keyword: "hostkey", expected: ["/tmp/sr-probe/hk"], actual: ["/tmp/sr-probe/hk", "/tmp/sr-probe/hk"] }]);
    });
});

describe("parseSshdT", () => {
    const stock = parseSshdT(fixture("sshd-T-debian-12-default.txt"));

    it("maps each keyword to the value of every line printing it", () => {
        assert.deepEqual(stock.get("permitrootlogin"), ["without-password"]);
        assert.deepEqual(stock.get("listenaddress"), ["[::]:22", "0.0.0.0:22"]);
        assert.deepEqual(stock.get("acceptenv"), ["LANG", "LC_*"]);
        assert.deepEqual(stock.get("maxstartups"), ["10:30:100"]);
        assert.deepEqual(stock.get("logingracetime"), ["120"]);
        assert.deepEqual(stock.get("authorizedkeysfile"), [".ssh/authorized_keys .ssh/authorized_keys2"]);
        assert.deepEqual(stock.get("subsystem"), ["sftp /usr/lib/openssh/sftp-server"]);
        assert.equal(stock.get("allowusers"), undefined);
        assert.equal(stock.size, 89);
    });

    it("keeps a group name with a space as one value", () => {
        assert.deepEqual(parseSshdT(fixture("sshd-T-managed-alice.txt")).get("allowgroups"), ["domain users", "ops"]);
    });

    it("tolerates CRLF and a keyword printed without a value", () => {
        assert.deepEqual([...parseSshdT("Port 22\r\n\r\nbanner\n")], [["port", ["22"]], ["banner", [""]]]);
    });
});

describe("compareEffective", () => {
    it("reports values that differ, ignoring line order", () => {
        const actual = parseSshdT("passwordauthentication yes\nallowusers bob\nallowusers alice\n");
        const checks = [
            { keyword: "passwordauthentication", expected: ["no"] },
            { keyword: "allowusers", expected: ["alice", "bob"] },
            { keyword: "denyusers", expected: [] },
        ];
        assert.deepEqual(compareEffective(checks, actual), [{ keyword: "passwordauthentication", expected: ["no"], actual: ["yes"] }]);
    });

    it("finds the stock Debian values that differ from the compliant fixture", () => {
        const stock = parseSshdT(fixture("sshd-T-debian-12-default.txt"));
        assert.deepEqual(compareEffective(effectiveChecks(compliant), stock).map((m) => m.keyword),
            ["listenaddress", "passwordauthentication", "authenticationmethods", "allowusers", "denyusers", "allowgroups",
                "denygroups", "authorizedkeysfile", "hostkey"]);
    });
});
