import * as assert from "node:assert/strict";
import { isDeclarationError, type SshdSettings, validateSshdSettings } from "../../../components/sshd-config";
import { compliant } from "./fixtures/compliant";

function rejects(patch: Record<string, unknown>, message: string): void {
    const settings = { ...compliant, ...patch } as SshdSettings;
    assert.throws(() => validateSshdSettings(settings), (e: unknown) => {
        assert.ok(isDeclarationError(e), `expected DeclarationError, got ${String(e)}`);
        assert.equal(e.message, message);
        return true;
    });
}

const PATTERNS = "use letters, digits, '.', '_', '-' and the wildcards '*' and '?' (sshd_config(5) PATTERNS)";
const PORT_FIX = "use a whole number from 1 to 65535 (sshd_config(5) default 22)";
const STARTUPS_FIX = 'use a number of connections such as 10, or "start:rate:full" such as "10:30:100" with start <= full and rate from 1 to 100 (sshd_config(5) MaxStartups)';
const TRIES_FIX = "use a whole number from 1 to 50; each key a client offers uses one try (sshd_config(5) default 6)";
const GRACE_FIX = 'use seconds from 1 to 3600, as a number or in sshd_config(5) TIME FORMATS such as "2m" or "1m30s"';

describe("validateSshdSettings", () => {
    it("accepts the compliant fixture and returns each directive's lines", () => {
        const { directives, match } = validateSshdSettings(compliant);
        assert.deepEqual(directives.map((d) => [d.keyword, d.lines]), [
            ["Port", ["22"]],
            ["AddressFamily", ["any"]],
            ["ListenAddress", ["0.0.0.0", "[2001:db8::1]:2222"]],
            ["HostKey", ["/etc/ssh/ssh_host_ed25519_key"]],
            ["LoginGraceTime", ["2m"]],
            ["MaxStartups", ["10:30:100"]],
            ["MaxAuthTries", ["6"]],
            ["MaxSessions", ["10"]],
            ["PermitRootLogin", ["prohibit-password"]],
            ["PubkeyAuthentication", ["yes"]],
            ["PasswordAuthentication", ["no"]],
            ["KbdInteractiveAuthentication", ["no"]],
            ["AuthenticationMethods", ["publickey"]],
            ["AuthorizedKeysFile", [".ssh/authorized_keys /etc/ssh/keys/%u"]],
            ["StrictModes", ["yes"]],
            ["UsePAM", ["yes"]],
            ["AllowUsers", ["alice bob@10.0.0.0/8"]],
            ["DenyUsers", ["mallory"]],
            ["AllowGroups", ['ops "domain users"']],
            ["DenyGroups", ["nologin"]],
            ["AcceptEnv", ["LANG LC_*"]],
            ["X11Forwarding", ["no"]],
        ]);
        assert.deepEqual(match, []);
    });

    it("turns null lists and an empty deny list into absent directives", () => {
        const { directives } = validateSshdSettings({ allowUsers: null, denyUsers: [], denyGroups: null });
        assert.deepEqual(directives, [
            { keyword: "AllowUsers", lines: [] },
            { keyword: "DenyUsers", lines: [] },
            { keyword: "DenyGroups", lines: [] },
        ]);
    });

    it("accepts a number for maxStartups and seconds for loginGraceTime", () => {
        const { directives } = validateSshdSettings({ maxStartups: 20, loginGraceTime: 90 });
        assert.deepEqual(directives.map((d) => d.lines[0]), ["90", "20"]);
    });

    describe("user names and patterns", () => {
        const cases: Array<[string, string, string]> = [
            ["a newline", "bob\nPermitRootLogin yes", "allowUsers[1]: contains a line break, which would start a new sshd_config directive. Fix: remove the line break"],
            ["a space", "bob smith", "allowUsers[1]: contains a space, so sshd would read it as separate values. Fix: give one value per list entry, without spaces"],
            ["a '#'", "bob#admin", "allowUsers[1]: contains '#', which starts a comment in sshd_config. Fix: remove the '#'"],
            ["a double quote", 'bo"b', `allowUsers[1]: contains ", which sshd_config's tokenizer treats as quoting. Fix: remove the "`],
            ["a single quote", "o'brien", "allowUsers[1]: contains ', which sshd_config's tokenizer treats as quoting. Fix: remove the '"],
            ["$(", "bob$(id)", `allowUsers[1]: "bob$(id)" contains '$', which cannot appear in a user name pattern. Fix: ${PATTERNS}`],
            ["backticks", "`id`", `allowUsers[1]: "\`id\`" contains '\`', which cannot appear in a user name pattern. Fix: ${PATTERNS}`],
            ["a tab", "bob\tx", "allowUsers[1]: contains the control character U+0009. Fix: remove it; sshd_config values are printable text"],
            ["a NUL byte", "bob\0", "allowUsers[1]: contains a NUL byte. Fix: remove the NUL byte"],
            ["leading whitespace", " bob", "allowUsers[1]: has leading or trailing whitespace. Fix: trim the value"],
            ["an empty user before @", "@10.0.0.0/8", `allowUsers[1]: "@10.0.0.0/8" has an empty user part. Fix: put a user name or the wildcard * before '@'`],
            ["an empty host after @", "bob@", `allowUsers[1]: "bob@" has an empty host entry. Fix: put a host pattern or address after each '@', ',' and '!'`],
        ];
        for (const [what, entry, message] of cases) {
            it(`rejects a user name with ${what}`, () => rejects({ allowUsers: ["alice", entry] }, message));
        }

        it("rejects a CIDR with a shell tail after a space", () => rejects({ allowUsers: ["alice", "bob@10.0.0.0/8; rm -rf /"] },
            "allowUsers[1]: contains a space, so sshd would read it as separate values. Fix: give one value per list entry, without spaces"));
        it("rejects a CIDR with a shell tail", () => rejects({ allowUsers: ["alice", "bob@10.0.0.0/8;rm"] },
            `allowUsers[1]: "10.0.0.0/8;rm" in "bob@10.0.0.0/8;rm" is not an address/prefix. Fix: use an IPv4 or IPv6 address, '/' and a prefix length up to 32 or 128, such as 10.0.0.0/8`));
        it("rejects a prefix longer than the address", () => rejects({ allowUsers: ["alice", "bob@10.0.0.0/33"] },
            `allowUsers[1]: "10.0.0.0/33" in "bob@10.0.0.0/33" is not an address/prefix. Fix: use an IPv4 or IPv6 address, '/' and a prefix length up to 32 or 128, such as 10.0.0.0/8`));
        it("rejects host bits past the prefix, as sshd does", () => rejects({ allowUsers: ["alice", "bob@10.0.0.1/8"] },
            `allowUsers[1]: "10.0.0.1/8" in "bob@10.0.0.1/8" has address bits set past the /8 prefix, which sshd rejects. Fix: use 10.0.0.0/8`));
        it("rejects host bits past an IPv6 prefix", () => rejects({ denyUsers: ["eve@2001:db8::1/32"] },
            `denyUsers[0]: "2001:db8::1/32" in "eve@2001:db8::1/32" has address bits set past the /32 prefix, which sshd rejects. Fix: use 2001:db8::/32`));
        it("rejects a shell character in a host pattern", () => rejects({ denyUsers: ["eve@host|sh"] },
            `denyUsers[0]: "host|sh" in "eve@host|sh" contains '|', which cannot appear in a host pattern or address. Fix: use a host name pattern (letters, digits, '.', '-', '*', '?') or an address/prefix such as 10.0.0.0/8`));
        it("accepts wildcards, negation and address lists", () => {
            validateSshdSettings({ allowUsers: ["*@198.18.*", "!root", "ops-?", "bob@10.0.0.0/8,!10.1.0.0/16", "carol@*.example.com"] });
        });
        it("rejects a group name with a colon", () => rejects({ allowGroups: ["a:b"] },
            `allowGroups[0]: "a:b" contains ':', which cannot appear in a group name pattern. Fix: use letters, digits, spaces, '.', '_', '-' and the wildcards '*' and '?' (sshd_config(5) PATTERNS)`));
        it("rejects a group name that is only '!'", () => rejects({ denyGroups: ["!"] },
            `denyGroups[0]: "!" negates nothing. Fix: put a group name after '!'`));
        it("rejects an explicitly empty allowUsers", () => rejects({ allowUsers: [] },
            "allowUsers: is an empty list, which would admit nobody. Fix: list at least one pattern, or set allowUsers to null to remove the directive and admit everyone"));
        it("rejects an explicitly empty allowGroups", () => rejects({ allowGroups: [] },
            "allowGroups: is an empty list, which would admit nobody. Fix: list at least one pattern, or set allowGroups to null to remove the directive and admit everyone"));
        it("rejects a user list given as a string", () => rejects({ allowUsers: "alice" },
            'allowUsers: is string "alice", not a list. Fix: give a list of strings'));
    });

    describe("numbers", () => {
        it("rejects port 0", () => rejects({ port: 0 }, `port: 0 is outside 1 to 65535. Fix: ${PORT_FIX}`));
        it("rejects port 65536", () => rejects({ port: 65536 }, `port: 65536 is outside 1 to 65535. Fix: ${PORT_FIX}`));
        it("rejects a non-integer port", () => rejects({ port: 22.5 }, `port: 22.5 is not a whole number. Fix: ${PORT_FIX}`));
        it("rejects a port given as a string", () => rejects({ port: "22" }, `port: is string "22", not a number. Fix: ${PORT_FIX}`));
        it("rejects maxAuthTries 0", () => rejects({ maxAuthTries: 0 }, `maxAuthTries: 0 is outside 1 to 50. Fix: ${TRIES_FIX}`));
        it("rejects maxAuthTries above 50", () => rejects({ maxAuthTries: 51 }, `maxAuthTries: 51 is outside 1 to 50. Fix: ${TRIES_FIX}`));
        it("rejects maxSessions 0", () => rejects({ maxSessions: 0 },
            "maxSessions: 0 is outside 1 to 1000. Fix: use a whole number from 1 to 1000; 0 would refuse every shell (sshd_config(5) default 10)"));
        it('rejects maxStartups "abc"', () => rejects({ maxStartups: "abc" }, `maxStartups: "abc" is not a number or start:rate:full. Fix: ${STARTUPS_FIX}`));
        it("rejects maxStartups with start above full", () => rejects({ maxStartups: "10:30:5" },
            `maxStartups: "10:30:5" has start 10 greater than full 5. Fix: ${STARTUPS_FIX}`));
        it("rejects maxStartups with start 0", () => rejects({ maxStartups: "0:30:5" }, `maxStartups: "0:30:5" has start 0, below 1. Fix: ${STARTUPS_FIX}`));
        it("rejects maxStartups with rate 0", () => rejects({ maxStartups: "10:0:100" },
            `maxStartups: "10:0:100" has rate 0, outside 1 to 100 percent. Fix: ${STARTUPS_FIX}`));
        it("rejects maxStartups 0", () => rejects({ maxStartups: 0 }, "maxStartups: 0 is outside 1 to 100000. Fix: use a whole number from 1 to 100000"));
        it('rejects loginGraceTime "2x"', () => rejects({ loginGraceTime: "2x" }, `loginGraceTime: "2x" is not a time. Fix: ${GRACE_FIX}`));
        it("rejects loginGraceTime over an hour", () => rejects({ loginGraceTime: "1h1s" },
            `loginGraceTime: "1h1s" is 3601 seconds, outside 1 to 3600. Fix: ${GRACE_FIX}`));
        it("rejects loginGraceTime 0 (no limit)", () => rejects({ loginGraceTime: 0 }, "loginGraceTime: 0 is outside 1 to 3600. Fix: use a whole number from 1 to 3600"));
    });

    describe("enumerations, booleans, addresses and paths", () => {
        it("rejects the old without-password spelling", () => rejects({ permitRootLogin: "without-password" },
            'permitRootLogin: "without-password" is not a valid value. Fix: use one of "yes", "no", "prohibit-password", "forced-commands-only"'));
        it("rejects an unknown address family", () => rejects({ addressFamily: "ipv4" },
            'addressFamily: "ipv4" is not a valid value. Fix: use one of "any", "inet", "inet6"'));
        it("rejects a boolean given as a string", () => rejects({ usePAM: "yes" }, 'usePAM: is string "yes", not a boolean. Fix: give true or false'));
        it("rejects a host name as a listen address", () => rejects({ listenAddress: ["example.com"] },
            'listenAddress[0]: "example.com" is not an IP address literal. Fix: use an address such as 0.0.0.0, ::, 192.0.2.10:2222 or [2001:db8::1]:2222; a host name would need DNS when sshd starts'));
        it("rejects a listen port out of range", () => rejects({ listenAddress: ["10.0.0.1:70000"] },
            "listenAddress[0] port: 70000 is outside 1 to 65535. Fix: use a whole number from 1 to 65535"));
        it("rejects an IPv6 listen address with addressFamily inet", () => rejects({ addressFamily: "inet" },
            'listenAddress[1]: "[2001:db8::1]:2222" is an IPv6 address but addressFamily is "inet", so sshd fails to start ("bad addr or host"). Fix: remove the address or set addressFamily to "any"'));
        it("rejects an empty listenAddress", () => rejects({ listenAddress: [] },
            "listenAddress: is an empty list. Fix: omit listenAddress to listen on every address, or list at least one address"));
        it("rejects a relative host key path", () => rejects({ hostKey: ["ssh_host_ed25519_key"] },
            'hostKey[0]: "ssh_host_ed25519_key" is not an absolute path. Fix: give a path starting with \'/\''));
        it("rejects '..' in a host key path", () => rejects({ hostKey: ["/etc/ssh/../shadow"] },
            `hostKey[0]: "/etc/ssh/../shadow" contains '..', which this module does not write into a path. Fix: use letters, digits, '/', '.', '_', '+', '@', '-' and no '..'`));
        it("rejects an empty hostKey", () => rejects({ hostKey: [] },
            "hostKey: is an empty list. Fix: omit hostKey to keep the default keys; sshd does not start without one"));
        it("rejects an unknown token in authorizedKeysFile", () => rejects({ authorizedKeysFile: ["%d/keys"] },
            `authorizedKeysFile[0]: "%d/keys" contains the unknown token "%d". Fix: use only %% (a literal %), %h (home directory), %U (uid) and %u (user name) (sshd_config(5) TOKENS)`));
        it("rejects an unknown authentication method", () => rejects({ authenticationMethods: ["publickey,passwd"] },
            `authenticationMethods[0]: "passwd" is not an authentication method. Fix: join methods from publickey, password, keyboard-interactive, hostbased, gssapi-with-mic with commas, or give ["any"] alone`));
        it("rejects a method list the disabled methods cannot satisfy", () => rejects({ authenticationMethods: ["publickey,password"] },
            `authenticationMethods[0]: "publickey,password" requires password but passwordAuthentication is false, so no login can complete this list. Fix: set passwordAuthentication to true or drop password from the list`));
        it("rejects a misspelt setting", () => rejects({ permitRootlogin: "no" },
            "permitRootlogin: is not a setting this module accepts. Fix: check the spelling, or pass other sshd_config keywords through extra"));
    });

    describe("extra", () => {
        const extra = (e: Record<string, unknown>) => ({ extra: e });
        it("rejects a directive duplicated with another case", () => rejects(extra({ X11Forwarding: "no", x11forwarding: "yes" }),
            "extra.x11forwarding: duplicates extra.X11Forwarding (keywords are case-insensitive). Fix: keep one of them"));
        it("rejects a keyword a typed field covers", () => rejects(extra({ PasswordAuthentication: "yes" }),
            "extra.PasswordAuthentication: duplicates the typed argument passwordAuthentication. Fix: set passwordAuthentication instead and remove extra.PasswordAuthentication"));
        it("rejects an alias of a typed keyword", () => rejects(extra({ ChallengeResponseAuthentication: "yes" }),
            "extra.ChallengeResponseAuthentication: duplicates the typed argument kbdInteractiveAuthentication. Fix: set kbdInteractiveAuthentication instead and remove extra.ChallengeResponseAuthentication"));
        it("rejects an alias of another keyword", () => rejects(extra({ PubkeyAcceptedKeyTypes: "ssh-ed25519" }),
            "extra.PubkeyAcceptedKeyTypes: is an old alias of PubkeyAcceptedAlgorithms. Fix: use extra.PubkeyAcceptedAlgorithms"));
        it("refuses Include", () => rejects(extra({ Include: "/tmp/*.conf" }),
            "extra.Include: is refused: an Include pulls in files this module does not validate; manage drop-ins with neutraliseDropIn instead. Fix: remove extra.Include"));
        it("refuses Match", () => rejects(extra({ match: "User bob" }),
            "extra.match: is refused: a Match line turns every following line into a conditional block; declare it with the `match` argument. Fix: remove extra.match"));
        it("rejects an unknown keyword", () => rejects(extra({ PermitRootLogon: "no" }),
            "extra.PermitRootLogon: is not an sshd_config keyword OpenSSH 9.x knows. Fix: check the spelling against sshd_config(5)"));
        it("rejects a value that would start a new directive", () => rejects(extra({ Banner: "/etc/issue\nPermitRootLogin yes" }),
            "extra.Banner: contains a line break, which would start a new sshd_config directive. Fix: remove the line break"));
        it("rejects a bad argument in a list", () => rejects(extra({ AcceptEnv: ["LANG", "LC_*#"] }),
            "extra.AcceptEnv[1]: contains '#', which starts a comment in sshd_config. Fix: remove the '#'"));
        it("rejects an empty argument list", () => rejects(extra({ AcceptEnv: [] }),
            "extra.AcceptEnv: is an empty list. Fix: give a string or a non-empty list of arguments"));
    });

    describe("match", () => {
        const block = (b: unknown) => ({ match: [b] });
        it("renders criteria in a fixed order", () => {
            const { match } = validateSshdSettings({
                match: [{ criteria: { address: ["10.0.0.0/8", "!10.1.0.0/16"], user: ["alice", "bob"] }, settings: { passwordAuthentication: true, extra: { X11Forwarding: "yes" } } }],
            });
            assert.deepEqual(match, [{
                condition: "User alice,bob Address 10.0.0.0/8,!10.1.0.0/16",
                directives: [{ keyword: "PasswordAuthentication", lines: ["yes"] }, { keyword: "X11Forwarding", lines: ["yes"] }],
            }]);
        });
        it("rejects a block with no criteria", () => rejects(block({ criteria: {}, settings: {} }),
            "match[0].criteria: has no criteria. Fix: give at least one of user, group, host, address, localAddress, localPort"));
        it("rejects a global-only typed setting in a block", () => rejects(block({ criteria: { user: ["bob"] }, settings: { port: 2222 } }),
            "match[0].settings.port: is not a setting this module accepts in a Match block. Fix: set it globally; sshd_config(5) lists the keywords a Match block accepts"));
        it("rejects a global-only extra keyword in a block", () => rejects(block({ criteria: { user: ["bob"] }, settings: { extra: { PrintMotd: "no" } } }),
            "match[0].settings.extra.PrintMotd: is not allowed in a Match block. Fix: set it globally; sshd_config(5) lists the keywords a Match block accepts"));
        it("rejects user@host in Match User", () => rejects(block({ criteria: { user: ["bob@10.0.0.0/8"] }, settings: {} }),
            `match[0].criteria.user[0]: "bob@10.0.0.0/8" has an @host part, which Match User does not take. Fix: move the host to the address or host criterion`));
        it("rejects a shell tail in Match Address", () => rejects(block({ criteria: { address: ["10.0.0.0/8;id"] }, settings: {} }),
            `match[0].criteria.address[0]: "10.0.0.0/8;id" is not an address/prefix. Fix: use an IPv4 or IPv6 address, '/' and a prefix length up to 32 or 128, such as 10.0.0.0/8`));
    });
});
