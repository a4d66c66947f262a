import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { declaredKeywords, MARKER, neutraliseDropIn, renderManaged, type SshdSettings } from "../../../components/sshd-config";

/** Debian 12's stock /etc/ssh/sshd_config (openssh-server 1:9.2p1-2), copied from the test root. */
const debian = fs.readFileSync(path.join(__dirname, "fixtures", "debian-12-sshd_config"), "utf8");

const lines = (...xs: string[]) => `${xs.join("\n")}\n`;

function assertIdempotent(text: string, settings: SshdSettings): string {
    const once = renderManaged(text, settings);
    assert.equal(renderManaged(once, settings), once);
    return once;
}

describe("renderManaged", () => {
    it("replaces the first global occurrence in place", () => {
        const text = lines("Port 22", "PasswordAuthentication yes", "UsePAM yes");
        assert.equal(renderManaged(text, { passwordAuthentication: false }), lines("Port 22", "PasswordAuthentication no", "UsePAM yes"));
    });

    it("comments out later global duplicates with the marker", () => {
        const text = lines("PasswordAuthentication yes", "UsePAM yes", "PasswordAuthentication yes");
        assert.equal(renderManaged(text, { passwordAuthentication: false }),
            lines("PasswordAuthentication no", "UsePAM yes", `${MARKER}PasswordAuthentication yes`));
    });

    it("treats keywords case-insensitively and understands Keyword=value", () => {
        const text = lines("passwordauthentication yes", "MaxAuthTries=2", "PASSWORDAUTHENTICATION=yes");
        assert.equal(renderManaged(text, { passwordAuthentication: false, maxAuthTries: 6 }),
            lines("PasswordAuthentication no", "MaxAuthTries 6", `${MARKER}PASSWORDAUTHENTICATION=yes`));
    });

    it("keeps a line that already has the declared value as the user wrote it", () => {
        const text = lines("passwordauthentication   no  ");
        assert.equal(renderManaged(text, { passwordAuthentication: false }), text);
    });

    it("inserts missing directives after the last global directive, before the first Match", () => {
        const text = lines("Include /etc/ssh/sshd_config.d/*.conf", "UsePAM yes", "", "# per-user overrides", "Match User alice",
            "\tPasswordAuthentication yes");
        assert.equal(renderManaged(text, { passwordAuthentication: false, allowUsers: ["alice"] }),
            lines("Include /etc/ssh/sshd_config.d/*.conf", "UsePAM yes", "PasswordAuthentication no", "AllowUsers alice", "",
                "# per-user overrides", "Match User alice", "\tPasswordAuthentication yes"));
    });

    it("never touches values inside Match blocks", () => {
        const text = lines("Match Address 10.0.0.0/8", "  PermitRootLogin yes", "  AllowUsers root", "Match all", "PermitRootLogin yes");
        assert.equal(renderManaged(text, { permitRootLogin: "no", allowUsers: null }), lines("PermitRootLogin no", text.trimEnd()));
    });

    it("removes an access list set to null by commenting out every global occurrence", () => {
        const text = lines("AllowUsers bob", "DenyUsers alice", "AllowUsers carol", "Match User x", "  AllowUsers y");
        assert.equal(renderManaged(text, { allowUsers: null, denyUsers: [] }),
            lines(`${MARKER}AllowUsers bob`, `${MARKER}DenyUsers alice`, `${MARKER}AllowUsers carol`, "Match User x", "  AllowUsers y"));
    });

    it("replaces a run of repeated keywords as one group and stays idempotent", () => {
        const text = lines("HostKey /etc/ssh/a", "HostKey /etc/ssh/b", "UsePAM yes", "HostKey /etc/ssh/c");
        const settings = { hostKey: ["/etc/ssh/b", "/etc/ssh/d"] };
        assert.equal(assertIdempotent(text, settings),
            lines("HostKey /etc/ssh/b", "HostKey /etc/ssh/d", "UsePAM yes", `${MARKER}HostKey /etc/ssh/c`));
    });

    it("never stacks duplicate lines when the declared value changes", () => {
        let text = lines("UsePAM yes");
        for (const tries of [3, 4, 5, 4]) text = renderManaged(text, { maxAuthTries: tries, allowUsers: ["u" + tries] });
        assert.equal(text, lines("UsePAM yes", "MaxAuthTries 4", "AllowUsers u4"));
    });

    it("handles an empty file and a file without a final newline", () => {
        assert.equal(renderManaged("", { port: 2222 }), lines("Port 2222"));
        assert.equal(renderManaged("UsePAM yes", { port: 2222 }), lines("UsePAM yes", "Port 2222"));
        assert.equal(renderManaged("Match User x\n  X11Forwarding no", { port: 2222 }), lines("Port 2222", "Match User x", "  X11Forwarding no"));
    });

    it("validates before rendering", () => {
        assert.throws(() => renderManaged(debian, { allowUsers: ["bob\nPermitRootLogin yes"] }),
            { message: "allowUsers[0]: contains a line break, which would start a new sshd_config directive. Fix: remove the line break" });
    });

    it("refuses Match blocks, which only replace mode writes", () => {
        assert.throws(() => renderManaged(debian, { match: [{ criteria: { user: ["bob"] }, settings: {} }] }),
            { message: "match: is only written in replace mode. Fix: declare Match blocks in replace mode, or keep them in the host's file: managed mode leaves them untouched" });
    });

    describe("on Debian 12's stock sshd_config", () => {
        const settings: SshdSettings = {
            passwordAuthentication: false, kbdInteractiveAuthentication: false, permitRootLogin: "no", allowUsers: ["alice"],
            extra: { X11Forwarding: "no" },
        };

        it("changes only the declared directives and keeps every comment", () => {
            const expected = debian
                .replace("X11Forwarding yes\n", "X11Forwarding no\n")
                .replace("Subsystem\tsftp\t/usr/lib/openssh/sftp-server\n",
                    "Subsystem\tsftp\t/usr/lib/openssh/sftp-server\nPermitRootLogin no\nPasswordAuthentication no\nAllowUsers alice\n");
            assert.equal(renderManaged(debian, settings), expected);
        });

        it("is idempotent", () => {
            assertIdempotent(debian, settings);
            assertIdempotent(debian, { port: 2222, hostKey: ["/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_rsa_key"], maxStartups: 30 });
        });

        it("leaves the text byte-identical when it already complies", () => {
            assert.equal(renderManaged(debian, { kbdInteractiveAuthentication: false, usePAM: true }), debian);
        });
    });
});

describe("neutraliseDropIn", () => {
    const dropIn = lines("# written by cloud-init", "PasswordAuthentication yes", "maxstartups 5", "ClientAliveInterval 60",
        "Match User backup", "  PasswordAuthentication yes");

    it("comments out conflicting global lines and reports them", () => {
        const { text, changed } = neutraliseDropIn(dropIn, ["PasswordAuthentication", "MaxStartups"]);
        assert.deepEqual(changed, [2, 3]);
        assert.equal(text, lines("# written by cloud-init", `${MARKER}PasswordAuthentication yes`, `${MARKER}maxstartups 5`,
            "ClientAliveInterval 60", "Match User backup", "  PasswordAuthentication yes"));
        assert.deepEqual(neutraliseDropIn(text, ["PasswordAuthentication", "MaxStartups"]), { text, changed: [] });
    });

    it("returns the text untouched when nothing conflicts", () => {
        const noNewline = "UsePAM yes";
        assert.deepEqual(neutraliseDropIn(noNewline, ["PasswordAuthentication"]), { text: noNewline, changed: [] });
    });

    it("takes its keywords from the declared settings", () => {
        assert.deepEqual(declaredKeywords({ passwordAuthentication: false, allowUsers: null, extra: { x11forwarding: "no" } }),
            ["PasswordAuthentication", "AllowUsers", "X11Forwarding"]);
    });
});
