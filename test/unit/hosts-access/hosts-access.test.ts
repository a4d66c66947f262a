import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    checkAccess, clientPattern, hostsAccessConcern, MARKER, parseRules, parseSource, type HostsAccessArgs,
} from "../../../components/hosts-access/hosts-access";
import { DeclarationError } from "../../../components/core/errors";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", name), "utf8");
/** Debian 12's stock files (tcpd 7.6.q-32), copied from the test root: comments only. */
const stockAllow = fixture("debian-12-hosts.allow");
const stockDeny = fixture("debian-12-hosts.deny");
const b64 = (s: string) => Buffer.from(s).toString("base64");
const probe = (allow: string | null, deny: string | null, libwrap = "yes") =>
    `allow=${allow === null ? "absent" : b64(allow)}\ndeny=${deny === null ? "absent" : b64(deny)}\nsshd_libwrap=${libwrap}\n`;
const src = (s: string) => parseSource(s)!;
const verdict = (allow: string, deny: string, s: string, daemon = "sshd") => checkAccess(allow, deny, daemon, src(s)).verdict;
const verifier = "198.51.100.7";
const concern = (a: Partial<HostsAccessArgs> = {}) => hostsAccessConcern({ sshSources: [verifier], ...a });
const contentOf = (plan: ReturnType<ReturnType<typeof concern>["plan"]>, i: number) => plan.apply[0].env![`SR_HA_CONTENT_${i}`];

describe("hosts_access(5) matching", () => {
    it("reads allow first, then deny, and admits when nothing matches", () => {
        assert.equal(verdict("", "", verifier), "admitted");
        assert.equal(verdict("", "sshd: ALL\n", verifier), "denied");
        assert.equal(verdict("sshd: 198.51.100.0/255.255.255.0\n", "ALL: ALL\n", verifier), "admitted");
        assert.equal(verdict("", "vsftpd: ALL\n", verifier), "admitted");
    });

    it("understands daemon lists, EXCEPT (nested), daemon@host and case", () => {
        assert.equal(verdict("", "ALL EXCEPT sshd: ALL\n", verifier), "admitted");
        assert.equal(verdict("", "in.telnetd, SSHD : ALL\n", verifier), "denied");
        assert.equal(verdict("", "ALL: ALL EXCEPT 198.51.100.0/24\n", verifier), "admitted");
        assert.equal(verdict("", "ALL: ALL EXCEPT 198.51.100.0/24 EXCEPT 198.51.100.7\n", verifier), "denied");
        assert.equal(verdict("", "sshd@192.0.2.1: ALL\n", verifier), "at-risk");
    });

    it("matches address forms: prefix, net/mask, CIDR, [v6]/len, and leaves names to DNS (at risk)", () => {
        for (const p of ["198.51.100.", "198.51.", "198.51.100.0/255.255.255.0", "198.51.100.0/24", "198.51.100.7"]) {
            assert.equal(verdict("", `sshd: ${p}\n`, verifier), "denied", p);
        }
        assert.equal(verdict("", "sshd: 198.51.101.\n", verifier), "admitted");
        assert.equal(verdict("", "sshd: [2001:db8::]/32\n", "2001:db8:1::/48"), "denied");
        assert.equal(verdict("", "sshd: [2001:db8::]/32\n", verifier), "admitted");
        for (const p of [".example.com", "KNOWN", "LOCAL", "PARANOID", "host.example.com", "198.51.100.*", "alice@198.51.100.7"]) {
            assert.equal(verdict("", `sshd: ${p}\n`, verifier), "at-risk", p);
        }
        // A source network only partly covered is at risk, not denied.
        assert.equal(verdict("", "sshd: 10.1.0.0/16\n", "10.0.0.0/8"), "at-risk");
    });

    it("honours hosts_options(5) verdicts, continuation lines and comments", () => {
        assert.equal(verdict("sshd: ALL : DENY\n", "", verifier), "denied");
        assert.equal(verdict("sshd: ALL : spawn /bin/echo %a : twist /bin/false\n", "", verifier), "denied");
        assert.equal(verdict("", "sshd: ALL : allow\n", verifier), "admitted");
        assert.deepEqual(parseRules("# c\nsshd: \\\n  ALL\n\nnocolon\n").map((r) => [r.first, r.last, r.clients]), [[1, 2, ["ALL"]]]);
        assert.equal(verdict(stockAllow, stockDeny, verifier), "admitted");
    });

    it("renders sources as patterns every libwrap reads", () => {
        assert.equal(clientPattern(src("198.51.100.7")), "198.51.100.7");
        assert.equal(clientPattern(src("10.0.0.0/8")), "10.0.0.0/255.0.0.0");
        assert.equal(clientPattern(src("2001:db8::/32")), "[2001:db8::]/32");
        assert.equal(clientPattern(src("2001:db8::1")), "[2001:db8::1]");
    });
});

describe("hostsAccessConcern", () => {
    it("[S6] admits the source with one sshd line at the top of hosts.allow, keeps hosts.deny, and converges", () => {
        const c = concern();
        const out = fixture("probe-s6.txt");
        const plan = c.plan(out);
        assert.equal(plan.pending, true);
        assert.equal(plan.restartSshd, false);
        assert.deepEqual(plan.paths, ["/etc/hosts.allow", "/etc/hosts.deny"]);
        assert.equal(plan.apply.length, 1);
        assert.equal(plan.apply[0].script, "hosts-access/apply");
        assert.equal(plan.apply[0].env!.SR_HA_COUNT, 1);
        assert.equal(plan.apply[0].env!.SR_HA_PATH_1, "/etc/hosts.allow");
        const allow = contentOf(plan, 1) as string;
        assert.equal(allow, `${MARKER}sshd must admit these sources (hosts-access)\nsshd: ${verifier}\n${stockAllow}`);
        assert.match(plan.drift[0], /^sshd denies 198\.51\.100\.7: \/etc\/hosts\.deny line \d+$/);
        assert.ok(plan.drift.includes(`/etc/hosts.allow: + sshd: ${verifier}`));
        const deny = Buffer.from(/deny=(.*)/.exec(out)![1], "base64").toString();
        assert.equal(c.plan(probe(allow, deny)).pending, false);
    });

    it("with hosts.allow declared whole, comments out the rules that deny instead, and converges", () => {
        const c = concern({ allow: { kind: "content", text: "" } });
        const deny = "ALL: 203.0.113.9\nsshd: ALL\nsshd: .example.com\n";
        const plan = c.plan(probe("", deny));
        assert.equal(plan.apply[0].env!.SR_HA_PATH_1, "/etc/hosts.deny");
        const after = contentOf(plan, 1) as string;
        assert.equal(after, `ALL: 203.0.113.9\n${MARKER}sshd: ALL\n${MARKER}sshd: .example.com\n`);
        assert.equal(c.plan(probe("", after)).pending, false);
    });

    it("managed entries keep the rest of the file and are added once", () => {
        const c = concern({ deny: { kind: "entries", entries: ["in.telnetd: ALL"] } });
        const plan = c.plan(probe(stockAllow, stockDeny));
        const deny = contentOf(plan, 1) as string;
        assert.equal(deny, `${stockDeny}in.telnetd: ALL\n`);
        assert.equal(c.plan(probe(stockAllow, deny)).pending, false);
    });

    it("declared content is written as declared, even where the file is absent", () => {
        const c = concern({ deny: { kind: "content", text: "ALL: ALL EXCEPT 198.51.100.7\n" }, allow: { kind: "content", text: "" } });
        const plan = c.plan(probe(null, null));
        assert.deepEqual([plan.apply[0].env!.SR_HA_PATH_1, plan.apply[0].env!.SR_HA_PATH_2], ["/etc/hosts.allow", "/etc/hosts.deny"]);
        assert.equal(plan.apply[0].env!.SR_HA_BEFORE_1, "absent");
        assert.equal(c.plan(probe("", "ALL: ALL EXCEPT 198.51.100.7\n")).pending, false);
    });

    it("changes nothing where sshd does not read the files (no libwrap) and nothing is declared", () => {
        assert.equal(concern().plan(probe("", "sshd: ALL\n", "no")).pending, false);
    });

    it("refuses a declaration that would deny a required source, naming the rule and the fix", () => {
        assert.throws(() => concern({ deny: { kind: "entries", entries: ["sshd: ALL"] } }), (e: unknown) =>
            e instanceof DeclarationError && e.argument === "deny" &&
            /'sshd : ALL' denies sshd to 198\.51\.100\.7.*Fix: exclude it/.test(e.message));
        assert.throws(() => concern({ allow: { kind: "content", text: "ALL: ALL: deny\n" } }), /^DeclarationError|allow: the declared rule/);
        // Excepting the source, or admitting it first, is accepted.
        concern({ deny: { kind: "entries", entries: ["sshd: ALL EXCEPT 198.51.100.7"] } });
        concern({ allow: { kind: "entries", entries: ["sshd: 198.51.100.0/255.255.255.0"] }, deny: { kind: "content", text: "ALL: ALL\n" } });
    });

    it("refuses bad sources, daemon names and entries before any host is contacted", () => {
        for (const [bad, arg] of [
            [{ sshSources: [] }, "sshSources"],
            [{ sshSources: ["10.0.0.1/8"] }, "sshSources[0]"],
            [{ sshSources: ["198.51.100.7; rm -rf /"] }, "sshSources[0]"],
            [{ daemon: "sshd; reboot" }, "daemon"],
            [{ allow: { kind: "entries", entries: ["sshd: ALL\nALL: ALL"] } }, "allow.entries[0]"],
            [{ deny: { kind: "entries", entries: ["no colon here"] } }, "deny.entries[0]"],
        ] as [Partial<HostsAccessArgs>, string][]) {
            assert.throws(() => concern(bad), (e: unknown) => e instanceof DeclarationError && e.argument === arg, JSON.stringify(bad));
        }
    });

    it("a probe without its lines is an error, not an empty host", () => {
        assert.throws(() => concern().plan("sshd_libwrap=yes\n"), /printed no allow= line/);
    });
});
