import { strict as assert } from "assert";
import fc from "fast-check";
import { renderManaged, renderReplace } from "../../../components/sshd-config/render";
import type { SshdSettings } from "../../../components/sshd-config/validate";
import { effectiveChecks } from "../../../components/sshd-config/effective";
import { distroDefaults, type Distro } from "../../../components/sshd-config/distro";
import { params, SEED } from "./arbitraries";
import { parseSshdConfig } from "./oracles";
import {
    assertAcceptable, assertDirectives, assertRefusal, canonical, expectedCondition, expectedDirectives, hostileSettings, validSettings,
} from "./settings";

export const DISTROS: readonly Distro[] = [
    { id: "debian", version: "12" }, { id: "debian", version: "10" }, { id: "ubuntu", version: "22.04" }, { id: "rhel", version: "9.3" },
    { id: "rocky", version: "8" }, { id: "tencentos" }, { id: "alpine", version: "3.19" },
];

/** Lines of an existing sshd_config, as hosts have them: aliases, `=`, indents, a Match block at the end. */
const BASE_LINES = [
    "# comment", "", "Include /etc/ssh/sshd_config.d/*.conf", "Port 22", "PermitRootLogin no", "AllowUsers bob carol", "DenyUsers mallory",
    "MaxStartups 10:30:100", "PasswordAuthentication yes", "ChallengeResponseAuthentication yes", "KbdInteractiveAuthentication no",
    "ListenAddress 0.0.0.0", "HostKey /etc/ssh/ssh_host_ed25519_key", "X11Forwarding yes", "AcceptEnv LANG LC_*",
    "Subsystem sftp /usr/lib/openssh/sftp-server", "UsePAM yes", "MaxAuthTries=3", "  PermitRootLogin   yes", "PubkeyAuthentication\tyes",
    "LoginGraceTime 30", "AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2", "PubkeyAcceptedKeyTypes +ssh-rsa", "StrictModes no",
    "DSAAuthentication no", "AllowGroups staff", "Banner none",
];
export const baseConfig: fc.Arbitrary<string> = fc.tuple(
    fc.array(fc.constantFrom(...BASE_LINES), { maxLength: 12 }),
    fc.constantFrom("", "Match User bob\n\tPasswordAuthentication no\n\tMaxAuthTries 2\n", "Match Address 10.0.0.0/8\n  AllowUsers carol\n"),
).map(([lines, tail]) => `${lines.map((l) => `${l}\n`).join("")}${tail}`);

/** What sshd reads from a replace-mode file: exactly the declaration, the distribution's defaults for the rest, the declared Match blocks. */
export function assertReplace(text: string, settings: SshdSettings, distro: Distro): void {
    const lines = parseSshdConfig(text);
    const global = lines.filter((l) => l.block === -1);
    assertDirectives(global, settings, "global");
    const allowed = new Set([...expectedDirectives(settings).keys(), ...expectedDirectives(distroDefaults(distro).settings).keys(), "include"]);
    for (const l of global) assert.ok(allowed.has(canonical(l.keyword)), `line ${l.line}: ${l.keyword} is neither declared nor a default`);
    const match = settings.match ?? [];
    const heads = lines.filter((l) => l.keyword === "match");
    assert.equal(heads.length, match.length, "the Match blocks sshd reads are not the declared ones");
    match.forEach((b, i) => {
        assert.deepEqual(heads[i].args, expectedCondition(b), `match[${i}]`);
        const inBlock = lines.filter((l) => l.block === i && l.keyword !== "match");
        assertDirectives(inBlock, b.settings as SshdSettings, `match[${i}]`);
        const declared = new Set(expectedDirectives(b.settings as SshdSettings).keys());
        for (const l of inBlock) assert.ok(declared.has(canonical(l.keyword)), `match[${i}] line ${l.line}: ${l.keyword} was not declared there`);
    });
}

/** What sshd reads from a managed file: the declared keywords as declared, every other line of the host's file as it was, Match blocks untouched. */
export function assertManaged(text: string, base: string, settings: SshdSettings): void {
    const lines = parseSshdConfig(text);
    const global = lines.filter((l) => l.block === -1);
    assertDirectives(global, settings, "global");
    const declared = new Set(expectedDirectives(settings).keys());
    const others = (ls: ReturnType<typeof parseSshdConfig>) => ls.filter((l) => l.block === -1 && !declared.has(canonical(l.keyword)))
        .map((l) => [l.keyword, l.args]);
    assert.deepEqual(others(lines), others(parseSshdConfig(base)), "a line of the host's file that was not declared changed");
    const tail = (t: string) => {
        const at = t.split("\n").findIndex((l) => /^\s*match(\s|=)/i.test(l));
        return at < 0 ? "" : t.split("\n").slice(at).join("\n");
    };
    assert.equal(tail(text), tail(base), "a Match block of the host's file changed");
}

describe("[property] sshd settings: refused naming the argument, or read back by sshd exactly", () => {
    before(() => console.log(`      seed ${SEED} (SR_PROPERTY_SEED)`));

    it("[property] valid settings are accepted, rendered in replace and managed mode, and every declared value is what sshd reads", () => {
        fc.assert(fc.property(validSettings({ withMatch: true }), fc.constantFrom(...DISTROS), baseConfig, (settings, distro, base) => {
            assertReplace(renderReplace(settings, distro), settings, distro);
            const { match, ...global } = settings;
            void match;
            assertManaged(renderManaged(base, global), base, global);
            effectiveChecks(settings);
        }), params(1500));
    });

    it("[property] replace mode: hostile values in typed fields, extra and Match blocks are refused naming the argument; what is accepted reads back exactly", () => {
        fc.assert(fc.property(hostileSettings({ withMatch: true }), fc.constantFrom(...DISTROS), (g, distro) => {
            let text: string;
            try {
                text = renderReplace(g.settings, distro);
            } catch (e) {
                assertRefusal(e, g.injections);
                return;
            }
            assertAcceptable(g.injections);
            assertReplace(text, g.settings, distro);
        }), params(2500));
    });

    it("[property] managed mode: hostile values are refused naming the argument; what is accepted reads back exactly and the host's other lines stay", () => {
        fc.assert(fc.property(hostileSettings({ withMatch: false }), baseConfig, (g, base) => {
            let text: string;
            try {
                text = renderManaged(base, g.settings);
            } catch (e) {
                assertRefusal(e, g.injections);
                return;
            }
            assertAcceptable(g.injections);
            assertManaged(text, base, g.settings);
        }), params(2000));
    });
});
