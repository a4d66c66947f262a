import { strict as assert } from "assert";
import { admitEdits, applyEdits, Connection, effectiveValues, listenPort, matchApplies, readOrder, setters } from "../../../components/sshd-config/origin";

const conn: Connection = { user: "alice", groups: ["alice", "sshusers"], addr: "198.18.0.1", laddr: "198.18.0.2", lport: 22 };
const main = (text: string) => ({ path: "/etc/ssh/sshd_config", text });
const dropIn = (name: string, text: string) => ({ path: `/etc/ssh/sshd_config.d/${name}`, text });
const debianMain = "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n";

describe("where sshd's effective value comes from [gate-sshd]", () => {
    it("reads drop-ins at their Include line and ends a Match block at the end of its file", () => {
        const lines = readOrder(main(debianMain + "Match User bob\n  MaxAuthTries 2\n"), [dropIn("a.conf", "DenyUsers alice\nMatch User alice\n  PubkeyAuthentication no\n")], conn);
        assert.deepEqual(lines.map((l) => [l.file.split("/").pop(), l.index, l.keyword, l.match?.applies ?? null]), [
            ["a.conf", 0, "denyusers", null],
            ["a.conf", 2, "pubkeyauthentication", true],
            ["sshd_config", 1, "kbdinteractiveauthentication", null],
            ["sshd_config", 2, "usepam", null],
            ["sshd_config", 4, "maxauthtries", false],
        ]);
    });

    it("evaluates Match criteria as sshd does: patterns, negation, groups, CIDR addresses, local port", () => {
        assert.equal(matchApplies(["User", "al*"], conn), true);
        assert.equal(matchApplies(["User", "*,!alice"], conn), false);
        assert.equal(matchApplies(["Group", "sshusers"], conn), true);
        assert.equal(matchApplies(["Address", "198.18.0.0/30"], conn), true);
        assert.equal(matchApplies(["Address", "10.0.0.0/8", "User", "alice"], conn), false);
        assert.equal(matchApplies(["LocalPort", "2222"], conn), false);
        assert.equal(matchApplies(["All"], conn), true);
    });

    it("a list keyword takes every global line unless an applying Match block sets it; others take the first", () => {
        const lines = readOrder(main("AllowUsers bob\nAllowUsers carol\nMaxAuthTries 3\nMaxAuthTries 9\nMatch Address 198.18.0.0/15\n AllowUsers dave\n"), [], conn);
        assert.deepEqual(setters(lines, "allowusers").map((l) => l.args), [["dave"]]);
        assert.deepEqual(setters(lines, "maxauthtries").map((l) => l.args), [["3"]]);
    });

    it("[gate-sshd] DenyUsers in a drop-in: the user leaves that line, the rest of it stays", () => {
        const lines = readOrder(main(debianMain), [dropIn("50-deny.conf", "DenyUsers mallory alice\n")], conn);
        const { edits, unplaced } = admitEdits(lines, effectiveValues("denyusers mallory\ndenyusers alice\n"), conn, { method: "key" });
        assert.deepEqual(unplaced, []);
        assert.deepEqual(edits, [{ file: "/etc/ssh/sshd_config.d/50-deny.conf", index: 0, keyword: "denyusers", replacement: "DenyUsers mallory", why: "DenyUsers alice refuses alice" }]);
        assert.equal(applyEdits("DenyUsers mallory alice\n", edits),
            "# sshremedy: DenyUsers alice refuses alice; was: DenyUsers mallory alice\nDenyUsers mallory\n");
    });

    it("[gate-sshd] PubkeyAuthentication no in a Match block: that line, and only that one, says yes", () => {
        const text = `${debianMain}Match User alice\n    PubkeyAuthentication no\n`;
        const { edits } = admitEdits(readOrder(main(text), [], conn), effectiveValues("pubkeyauthentication no\n"), conn, { method: "key" });
        assert.deepEqual(edits.map((e) => [e.index, e.replacement, e.why]),
            [[4, "PubkeyAuthentication yes", "PubkeyAuthentication no refuses the key login (in the Match block at /etc/ssh/sshd_config:4)"]]);
        assert.equal(applyEdits(text, edits).split("\n").slice(3, 6).join("\n"),
            "Match User alice\n    # sshremedy: PubkeyAuthentication no refuses the key login (in the Match block at /etc/ssh/sshd_config:4); was: PubkeyAuthentication no\n    PubkeyAuthentication yes");
    });

    it("[gate-sshd] AllowUsers in a Match Address block of a drop-in: the user is added there", () => {
        const lines = readOrder(main(debianMain), [dropIn("60-office.conf", "Match Address 198.18.0.0/15\n  AllowUsers bob\n")], conn);
        const { edits } = admitEdits(lines, effectiveValues("allowusers bob\n"), conn, { method: "key" });
        assert.deepEqual(edits.map((e) => [e.file, e.index, e.replacement]), [["/etc/ssh/sshd_config.d/60-office.conf", 1, "AllowUsers bob alice"]]);
    });

    it("[gate-network] sshd on another port than the login's: the login's port is added beside it, where Port is set", () => {
        const lines = readOrder(main(debianMain), [dropIn("40-port.conf", "Port 2222\n")], conn);
        const { edits } = admitEdits(lines, effectiveValues("port 2222\n"), conn, { method: "key" });
        assert.equal(applyEdits("Port 2222\n", edits),
            "# sshremedy: sshd listens on port 2222, not on 22 where the login connects; was: Port 2222\nPort 2222\nPort 22\n");
    });

    it("[gate-network] a ListenAddress with its own port: the login's port is added beside that line, a ListenAddress without one is left", () => {
        const text = "ListenAddress 0.0.0.0:2222\nListenAddress [::]:2222\n";
        const lines = readOrder(main(debianMain), [dropIn("40-listen.conf", text)], conn);
        const { edits, unplaced } = admitEdits(lines, effectiveValues("port 22\nlistenaddress 0.0.0.0:2222\nlistenaddress [::]:2222\n"), conn, { method: "key" });
        assert.deepEqual(unplaced, []);
        assert.deepEqual(applyEdits(text, edits).split("\n").filter((l) => l && !l.startsWith("#")),
            ["ListenAddress 0.0.0.0:2222", "ListenAddress 0.0.0.0:22", "ListenAddress [::]:2222", "ListenAddress [::]:22"]);
        assert.equal(listenPort("198.18.0.2"), undefined);
        assert.equal(listenPort("[2001:db8::1]:2222"), 2222);
        const plain = readOrder(main(debianMain), [dropIn("40-listen.conf", "ListenAddress 0.0.0.0\n")], conn);
        assert.deepEqual(admitEdits(plain, effectiveValues("port 22\nlistenaddress 0.0.0.0:22\n"), conn, { method: "key" }).edits, []);
    });

    it("a value sshd reports that no line reproduces is not guessed at", () => {
        const { edits, unplaced } = admitEdits(readOrder(main(debianMain), [], conn), effectiveValues("denyusers alice\n"), conn, { method: "key" });
        assert.deepEqual(edits, []);
        assert.match(unplaced[0], /^DenyUsers alice refuses alice: sshd -T says so, but no line read in sshd's order gives that value/);
    });

    it("a login sshd admits needs no edit", () => {
        const lines = readOrder(main(`${debianMain}DenyUsers mallory\n`), [], conn);
        assert.deepEqual(admitEdits(lines, effectiveValues("denyusers mallory\npubkeyauthentication yes\nmaxauthtries 6\n"), conn, { method: "key" }),
            { edits: [], unplaced: [], reports: [] });
    });

    it("[gate-sshd] ForceCommand, ChrootDirectory and AuthenticationMethods the login cannot meet are reported with their line, not changed", () => {
        const text = `${debianMain}Match User alice\n  ForceCommand /usr/bin/true\n  ChrootDirectory /srv/jail\nAuthenticationMethods publickey,password\n`;
        const r = admitEdits(readOrder(main(text), [], conn),
            effectiveValues("forcecommand /usr/bin/true\nchrootdirectory /srv/jail\nauthenticationmethods publickey,password\n"), conn, { method: "key" });
        assert.deepEqual(r.edits, []);
        assert.deepEqual(r.reports.map((x) => x.split(" (")[0]), ["ForceCommand /usr/bin/true", "ChrootDirectory /srv/jail", "AuthenticationMethods publickey,password"]);
        assert.match(r.reports[0], /\(\/etc\/ssh\/sshd_config:5 \(Match block at line 4\)\)/);
        const ok = admitEdits(readOrder(main(debianMain), [], conn), effectiveValues("authenticationmethods publickey password\nforcecommand none\n"), conn, { method: "key" });
        assert.deepEqual(ok.reports, []);
    });
});
