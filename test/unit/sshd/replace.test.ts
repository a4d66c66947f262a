import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { distroLookupOrder, renderReplace, replaceSettings, type Distro, type SshdSettings } from "../../../components/sshd-config";

/** Checked by hand with `sshd -t` on Debian 12 (host keys pointed at a throwaway key). */
const debianGolden = fs.readFileSync(path.join(__dirname, "fixtures", "replace-debian-12.sshd_config"), "utf8");

const user: SshdSettings = {
    allowUsers: ["alice", "deploy"],
    match: [{ criteria: { user: ["backup"], address: ["10.0.0.0/8"] }, settings: { passwordAuthentication: true, extra: { ForceCommand: "internal-sftp" } } }],
};

const directives = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
const directive = (text: string, keyword: string) => directives(text).filter((l) => l.split(" ")[0] === keyword);

describe("distroLookupOrder", () => {
    const cases: Array<[Distro, string[]]> = [
        [{ id: "debian", version: "12" }, ["debian@12", "debian", "family:debian", "generic"]],
        [{ id: "rocky", version: "9.3" }, ["rocky@9.3", "rocky@9", "rocky", "family:rhel", "generic"]],
        [{ id: "Ubuntu", version: "22.04" }, ["ubuntu@22.04", "ubuntu@22", "ubuntu", "family:debian", "generic"]],
        [{ id: "alpine" }, ["alpine", "generic"]],
        [{ id: "myos", version: "1", family: "rhel" }, ["myos@1", "myos", "family:rhel", "generic"]],
    ];
    for (const [distro, keys] of cases) {
        it(`looks ${JSON.stringify(distro)} up from most to least specific`, () => assert.deepEqual(distroLookupOrder(distro), keys));
    }
});

describe("renderReplace", () => {
    it("writes Debian 12's known-good file", () => {
        assert.equal(renderReplace(user, { id: "debian", version: "12" }), debianGolden);
    });

    it("keeps sections in a fixed order, then drop-ins, then Match blocks", () => {
        const headings = debianGolden.split("\n").filter((l) => l.startsWith("## ") || l.startsWith("Match "));
        assert.deepEqual(headings, ["## Network", "## Limits", "## Authentication", "## Access control", "## Session",
            "## Drop-ins", "Match User backup Address 10.0.0.0/8"]);
    });

    it("puts one rationale comment above every directive", () => {
        const text = renderReplace(user, { id: "rocky", version: "9.3" }).split("\n");
        text.forEach((line, i) => {
            const keyword = line.trim().split(" ")[0];
            if (line.trim() === "" || line.trim().startsWith("#") || line.startsWith("Match ")) return;
            const before = text[i - 1].trim();
            assert.ok(before.startsWith("# ") || before.split(" ")[0] === keyword, `no rationale above "${line}"`);
        });
    });

    const perDistro: Array<[Distro, string, string | undefined, boolean]> = [
        [{ id: "debian", version: "12" }, "/usr/lib/openssh/sftp-server", "Include /etc/ssh/sshd_config.d/*.conf", true],
        [{ id: "debian", version: "10" }, "/usr/lib/openssh/sftp-server", undefined, true],
        [{ id: "ubuntu", version: "22.04" }, "/usr/lib/openssh/sftp-server", "Include /etc/ssh/sshd_config.d/*.conf", true],
        [{ id: "ubuntu", version: "18.04" }, "/usr/lib/openssh/sftp-server", undefined, true],
        [{ id: "rhel", version: "9.4" }, "/usr/libexec/openssh/sftp-server", "Include /etc/ssh/sshd_config.d/*.conf", false],
        [{ id: "almalinux", version: "8.9" }, "/usr/libexec/openssh/sftp-server", undefined, false],
        [{ id: "tencentos", version: "3.1" }, "/usr/libexec/openssh/sftp-server", undefined, false],
        [{ id: "alpine", version: "3.20" }, "internal-sftp", undefined, false],
    ];
    for (const [distro, sftp, include, printMotdNo] of perDistro) {
        it(`uses ${distro.id} ${distro.version}'s sftp server, Include and PrintMotd`, () => {
            const text = renderReplace({}, distro);
            assert.deepEqual(directive(text, "Subsystem"), [`Subsystem sftp ${sftp}`]);
            assert.deepEqual(directive(text, "Include"), include === undefined ? [] : [include]);
            assert.deepEqual(directive(text, "PrintMotd"), printMotdNo ? ["PrintMotd no"] : []);
            assert.deepEqual(directive(text, "UsePAM"), ["UsePAM yes"]);
            assert.deepEqual(directive(text, "KbdInteractiveAuthentication"), ["KbdInteractiveAuthentication no"]);
        });
    }

    it("lets the user's settings override the defaults without duplicating a keyword", () => {
        const text = renderReplace({
            passwordAuthentication: true, port: 2222, allowUsers: null,
            extra: { subsystem: ["sftp", "internal-sftp"], printmotd: "yes" },
        }, { id: "debian", version: "12" });
        assert.deepEqual(directive(text, "PasswordAuthentication"), ["PasswordAuthentication yes"]);
        assert.ok(text.includes("# Password logins are on: declared explicitly, keys are safer.\nPasswordAuthentication yes\n"));
        assert.deepEqual(directive(text, "Port"), ["Port 2222"]);
        assert.deepEqual(directive(text, "Subsystem"), ["Subsystem sftp internal-sftp"]);
        assert.deepEqual(directive(text, "PrintMotd"), ["PrintMotd yes"]);
        assert.deepEqual(directive(text, "AllowUsers"), []);
        const keywords = directives(text).map((l) => l.split(" ")[0].toLowerCase());
        assert.equal(new Set(keywords).size, keywords.length, "no keyword repeats");
    });

    it("validates the user's settings before merging them", () => {
        assert.throws(() => renderReplace({ extra: { X11Forwarding: "no", x11forwarding: "yes" } }, { id: "debian" }),
            { message: "extra.x11forwarding: duplicates extra.X11Forwarding (keywords are case-insensitive). Fix: keep one of them" });
    });

    it("exposes the merged settings for the effective check", () => {
        const merged = replaceSettings({ maxAuthTries: 3 }, { id: "rocky", version: "9" });
        assert.equal(merged.maxAuthTries, 3);
        assert.equal(merged.permitRootLogin, "prohibit-password");
        assert.deepEqual(merged.extra?.Subsystem, ["sftp", "/usr/libexec/openssh/sftp-server"]);
    });
});
