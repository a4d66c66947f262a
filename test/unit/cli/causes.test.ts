import { strict as assert } from "assert";
import type { ConcernPlan } from "../../../components/core/concern";
import { causesOf, rankCauses } from "../../../components/cli/causes";
import { classifyLogin, LoginSymptom } from "../../../components/cli/symptoms";

/** Drift lines as the concerns print them on harness hosts with one fault each (captured from real probes). */
const plan = (drift: string[]): ConcernPlan => ({ pending: true, drift, paths: [], apply: [], restartSshd: false });
const hardening = ["/etc/fail2ban/jail.d/sshremedy.local: ignoreip lacks the allowlist"];
const found: Record<string, [string, string[]][]> = {
    S1: [["sshd-config", ["/etc/ssh/sshd_config: - AllowUsers bob", "/etc/ssh/sshd_config: + AllowUsers bob alice"]]],
    S2: [["sshd-config", ["/etc/ssh/sshd_config: - DenyUsers alice", "/etc/ssh/sshd_config: + # sshremedy: DenyUsers alice"]]],
    S3: [["sshd-config", ["/etc/ssh/sshd_config: - AllowGroups bob", "/etc/ssh/sshd_config: + AllowGroups bob alice"]]],
    S4: [["sshd-config", ["/etc/ssh/sshd_config: - DenyGroups sshusers", "/etc/ssh/sshd_config: + # sshremedy: DenyGroups sshusers"]]],
    S5: [["sshd-config", ["/etc/ssh/sshd_config: - PasswordAuthentication no", "/etc/ssh/sshd_config: + PasswordAuthentication yes"]]],
    S6: [["hosts-access", ["sshd denies 198.18.0.17: /etc/hosts.deny line 18", "/etc/hosts.allow: + sshd: 198.18.0.17"]]],
    S7: [["firewall-allowlist", [...hardening, "iptables filter INPUT blocks 198.18.0.21 → tcp 22: -A INPUT -s 198.18.0.21/32 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset"]]],
    S8: [["sshd-config", ["/etc/ssh/sshd_config: - MaxStartups 1", "/etc/ssh/sshd_config: + MaxStartups 10:30:100"]]],
    S10: [["sshd-config", ["/etc/ssh/sshd_config: - PermitRootLogin no", "/etc/ssh/sshd_config: + PermitRootLogin prohibit-password"]]],
    S11: [["sshd-config", ["/etc/ssh/sshd_config: - MaxAuthTries 2", "/etc/ssh/sshd_config: + MaxAuthTries 6"]]],
    S12: [["sshd-runtime", ["/lib/x86_64-linux-gnu/libwrap.so.0: missing (shared library libwrap.so.0); reinstall libwrap0:amd64 from /var/cache/apt/archives/libwrap0_7.6.q-32_amd64.deb"]],
        ["sshd-config", ["sshd is not running"]]],
    S13: [["sshd-runtime", ["/lib/x86_64-linux-gnu/security/pam_loginuid.so: missing (PAM module pam_loginuid.so); reinstall libpam-modules:amd64 from /var/cache/apt/archives/libpam-modules_1.5.2-6+deb12u2_amd64.deb"]]],
    S14: [["sshd-config", ["/etc/ssh/sshd_config: - ListenAddress 198.19.255.254", "/etc/ssh/sshd_config: + ListenAddress 0.0.0.0", "sshd is not running"]]],
    S15: [["sshd-config", ["/etc/ssh/sshd_config: - PasswordAuthentication\u00a0 no",
        "/etc/ssh/sshd_config: + # sshremedy: sshd refused this line (Bad configuration option: PasswordAuthentication\\302\\240): PasswordAuthentication? no", "sshd is not running"]]],
};
const symptomOf: Record<string, LoginSymptom["kind"]> = {
    S1: "permission-denied", S2: "permission-denied", S3: "permission-denied", S4: "permission-denied", S5: "permission-denied",
    S6: "reset-before-banner", S7: "refused", S8: "reset-before-banner", S10: "permission-denied", S11: "too-many-authentication-failures",
    S12: "refused", S13: "other", S14: "refused", S15: "refused",
};
const attempt = (kind: LoginSymptom["kind"]): LoginSymptom => ({ kind, ok: kind === "ok", message: "", methodsOffered: [], attempts: 1 });
const plans = (entries: [string, string[]][]) => new Map(entries.map(([c, d]) => [c, plan(d)]));

describe("sshremedy diagnose: causes from what the probes found", () => {
    for (const [id, entries] of Object.entries(found)) {
        it(`[diagnose] ${id}: the probe's findings are that cause, named first, with the fault's own lines as evidence`, () => {
            const withHardening: [string, string[]][] = entries.some(([c]) => c === "firewall-allowlist") ? entries : [...entries, ["firewall-allowlist", hardening]];
            const causes = rankCauses(causesOf(plans(withHardening), [], new Map()), attempt(symptomOf[id]));
            assert.equal(causes[0].id, id, JSON.stringify(causes));
            assert.ok(causes[0].consistent, `${id} does not explain its own symptom ${symptomOf[id]}`);
            assert.ok(causes[0].evidence.length > 0);
            assert.equal(causes.filter((c) => c.blocking).length, 1, `more than one blocking cause: ${causes.map((c) => c.id)}`);
            assert.equal(causes[causes.length - 1].id, "hardening");
        });
    }

    it("[diagnose] two faults: the one whose symptom the client met comes first, the other is still named", () => {
        const causes = rankCauses(causesOf(plans([...found.S2, ...found.S6]), [], new Map()), attempt("reset-before-banner"));
        assert.deepEqual(causes.map((c) => c.id), ["S6", "S2"]);
        assert.deepEqual(causes.map((c) => c.consistent), [true, false]);
    });

    it("[diagnose] S1, S6, S7 and S15 on one host (drift as the concerns print it: removed lines first): each named once, with its own lines", () => {
        const causes = causesOf(plans([
            ["firewall-allowlist", [...hardening, "iptables filter INPUT blocks 198.18.0.5 → tcp 22: -A INPUT -s 198.18.0.5/32 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset"]],
            ["hosts-access", ["sshd denies 198.18.0.5: /etc/hosts.deny line 18", "/etc/hosts.allow: + sshd: 198.18.0.5"]],
            ["sshd-config", ["/etc/ssh/sshd_config: - PasswordAuthentication\u00a0 no", "/etc/ssh/sshd_config: - AllowUsers bob",
                "/etc/ssh/sshd_config: + # sshremedy: sshd refused this line (Bad configuration option: PasswordAuthentication\\302\\240): PasswordAuthentication? no",
                "/etc/ssh/sshd_config: + AllowUsers bob alice", "sshd is not running"]],
        ]), [], new Map());
        const byId = new Map(causes.map((c) => [c.id, c]));
        assert.deepEqual(causes.filter((c) => c.blocking).map((c) => c.id).sort(), ["S1", "S15", "S6", "S7"]);
        assert.deepEqual(byId.get("S1")!.evidence, ["/etc/ssh/sshd_config: - AllowUsers bob"]);
        assert.match(byId.get("S1")!.fix, /AllowUsers bob alice/);
        assert.deepEqual(byId.get("S15")!.evidence, ["/etc/ssh/sshd_config: - PasswordAuthentication\u00a0 no", "sshd is not running"]);
    });

    it("[diagnose] S5 and S15 on one host: the good PasswordAuthentication line is S5, the one with a no-break space S15", () => {
        const causes = causesOf(plans([["sshd-config", ["/etc/ssh/sshd_config: - PasswordAuthentication\u00a0 no", "/etc/ssh/sshd_config: - PasswordAuthentication no",
            "/etc/ssh/sshd_config: + # sshremedy: sshd refused this line (Bad configuration option: PasswordAuthentication\\302\\240): PasswordAuthentication? no",
            "/etc/ssh/sshd_config: + PasswordAuthentication yes", "sshd is not running"]]]), [], new Map());
        const byId = new Map(causes.map((c) => [c.id, c]));
        assert.deepEqual(byId.get("S5")?.evidence, ["/etc/ssh/sshd_config: - PasswordAuthentication no"]);
        assert.match(byId.get("S5")!.fix, /PasswordAuthentication yes/);
        assert.deepEqual(byId.get("S15")?.evidence, ["/etc/ssh/sshd_config: - PasswordAuthentication\u00a0 no", "sshd is not running"]);
        assert.equal(byId.has("hardening"), false);
    });

    it("[diagnose] a declared setting added where no line refused the login is drift, not a cause", () => {
        const causes = causesOf(plans([["sshd-config", ["/etc/ssh/sshd_config: + MaxSessions 10"]]]), [], new Map());
        assert.deepEqual(causes.map((c) => [c.id, c.blocking]), [["hardening", false]]);
    });

    it("[diagnose] a removed sshd_config line gets its file and line number from the file the probe printed", () => {
        const text = "Port 22\n# comment\nDenyUsers alice\n";
        const framed = new Map([["sshd-config", `config=${Buffer.from(text).toString("base64")}\nsshd_active=yes`]]);
        const [c] = causesOf(plans(found.S2), [], framed);
        assert.deepEqual(c.evidence, ["/etc/ssh/sshd_config:3: DenyUsers alice"]);
        assert.match(c.fix, /# sshremedy: DenyUsers alice/);
    });

    it("[diagnose] an account the declaration leaves alone is a cause from the concern's refusal", () => {
        const [c] = causesOf(new Map(), ["account: alice's shell /usr/sbin/nologin does not log in"], new Map());
        assert.equal(c.id, "account");
        assert.match(c.evidence[0], /nologin/);
    });
});

describe("sshremedy diagnose: the client's words sorted into symptoms", () => {
    const lines = (...l: string[]) => ({ code: 255, stdout: "", stderr: l.join("\n") });
    const cases: [string, ReturnType<typeof lines>, LoginSymptom["kind"]][] = [
        ["hosts.deny", lines("kex_exchange_identification: read: Connection reset by peer", "Connection reset by 198.18.0.18 port 22"), "reset-before-banner"],
        ["MaxStartups", lines("debug1: kex_exchange_identification: banner line 0: Exceeded MaxStartups", "kex_exchange_identification: Connection closed by remote host"), "reset-before-banner"],
        ["REJECT", lines("debug1: connect to address 198.18.0.22 port 22: Connection refused", "ssh: connect to host 198.18.0.22 port 22: Connection refused"), "refused"],
        ["DROP", lines("ssh: connect to host 198.18.0.22 port 22: Connection timed out"), "timed-out"],
        ["DenyUsers", lines("debug1: Authentications that can continue: publickey,password", "debug1: No more authentication methods to try.", "alice@198.18.0.6: Permission denied (publickey,password)."), "permission-denied"],
        ["MaxAuthTries", lines("Received disconnect from 198.18.0.6 port 22:2: Too many authentication failures", "Disconnected from 198.18.0.6 port 22"), "too-many-authentication-failures"],
    ];
    for (const [what, r, kind] of cases) {
        it(`[diagnose] ${what}: ${kind}`, () => {
            const s = classifyLogin(r, "alice");
            assert.equal(s.kind, kind);
            assert.equal(s.ok, false);
        });
    }
    it("[diagnose] authenticated, then the session ended (a PAM module missing): said so, not the session's byte counts", () => {
        const s = classifyLogin({ code: 254, stdout: "", stderr: ["debug1: Authentications that can continue: publickey,password",
            "Authenticated to 198.18.0.14 ([198.18.0.14]:22) using \"publickey\".", "Transferred: sent 3480, received 3676 bytes, in 0.1 seconds",
            "Bytes per second: sent 65922.8, received 69635.7"].join("\n") }, "alice");
        assert.equal(s.kind, "closed-after-authentication");
        assert.equal(s.message, 'Authenticated to 198.18.0.14 ([198.18.0.14]:22) using "publickey", then the session ended (exit 254)');
    });
    it("[diagnose] a shell that printed the user is a login that works", () => {
        assert.equal(classifyLogin({ code: 0, stdout: "alice\n", stderr: "" }, "alice").kind, "ok");
        assert.notEqual(classifyLogin({ code: 0, stdout: "bob\n", stderr: "" }, "alice").kind, "ok");
    });
    it("[diagnose] the methods the server offered are kept", () => {
        assert.deepEqual(classifyLogin(cases[4][1], "alice").methodsOffered, ["publickey", "password"]);
    });
});
