/**
 * Effective-value checks: what `sshd -T -C user=…,host=…,addr=…` must print once the declared
 * settings are in force, and a parser for what it does print. Formats verified against OpenSSH 9.2.
 */
import { type SshdSettings, validateSshdSettings } from "./validate";
import * as v from "./values";

export interface EffectiveCheck {
    /** The keyword in lowercase, as sshd -T prints it. */
    readonly keyword: string;
    /** Every value sshd -T must print for the keyword, one per line it prints; empty means none. */
    readonly expected: readonly string[];
}

export interface EffectiveMismatch extends EffectiveCheck {
    readonly actual: readonly string[];
}

const yesNo = (b: boolean | undefined) => (b === undefined ? undefined : [b ? "yes" : "no"]);
const entries = (xs: readonly string[] | null | undefined) => (xs === undefined ? undefined : [...(xs ?? [])]);

/**
 * The checks for the typed settings. Keywords a declared Match block sets are left out, since their
 * value depends on the connection; so are `extra` keywords, whose printed form is keyword-specific
 * (sshd -T prints `RekeyLimit 1G` as `rekeylimit 1073741824 0`), and `sshd -t` covers them.
 */
export function effectiveChecks(settings: SshdSettings): EffectiveCheck[] {
    const { match } = validateSshdSettings(settings);
    const conditional = new Set(match.flatMap((m) => m.directives.map((d) => d.keyword.toLowerCase())));
    const s = settings;
    const candidates: Array<[string, string[] | undefined]> = [
        ["port", s.port === undefined ? undefined : [String(s.port)]],
        ["addressfamily", s.addressFamily === undefined ? undefined : [s.addressFamily]],
        ["listenaddress", listenAddresses(s)],
        // sshd -T prints prohibit-password by its old name.
        ["permitrootlogin", s.permitRootLogin === undefined ? undefined
            : [s.permitRootLogin === "prohibit-password" ? "without-password" : s.permitRootLogin]],
        ["pubkeyauthentication", yesNo(s.pubkeyAuthentication)],
        ["passwordauthentication", yesNo(s.passwordAuthentication)],
        ["kbdinteractiveauthentication", yesNo(s.kbdInteractiveAuthentication)],
        ["authenticationmethods", s.authenticationMethods && [s.authenticationMethods.join(" ")]],
        // One line per pattern, unquoted, even for a group name with spaces.
        ["allowusers", entries(s.allowUsers)],
        ["denyusers", entries(s.denyUsers)],
        ["allowgroups", entries(s.allowGroups)],
        ["denygroups", entries(s.denyGroups)],
        ["maxauthtries", s.maxAuthTries === undefined ? undefined : [String(s.maxAuthTries)]],
        // `MaxStartups 10` is printed as 10:30:10.
        ["maxstartups", s.maxStartups === undefined ? undefined : [v.maxStartups(s.maxStartups, "maxStartups").printed]],
        ["maxsessions", s.maxSessions === undefined ? undefined : [String(s.maxSessions)]],
        ["logingracetime", s.loginGraceTime === undefined ? undefined
            : [String(v.time(s.loginGraceTime, "loginGraceTime", 1, 3600).seconds)]],
        ["usepam", yesNo(s.usePAM)],
        ["strictmodes", yesNo(s.strictModes)],
        ["authorizedkeysfile", s.authorizedKeysFile && [s.authorizedKeysFile.join(" ")]],
        ["hostkey", entries(s.hostKey)],
    ];
    return candidates.flatMap(([keyword, expected]) =>
        expected === undefined || conditional.has(keyword) ? [] : [{ keyword, expected }]);
}

/** sshd -T prints one `address:port` line per ListenAddress and port, with IPv6 in brackets and canonical form. */
function listenAddresses(s: SshdSettings): string[] | undefined {
    if (s.listenAddress === undefined) return undefined;
    const parsed = s.listenAddress.map((item, i) => v.listenAddress(item, `listenAddress[${i}]`));
    if (s.port === undefined && parsed.some((a) => a.port === undefined)) return undefined;
    return parsed.map((a) => `${a.family === 6 ? `[${a.canonical}]` : a.canonical}:${a.port ?? s.port}`);
}

/** `sshd -T` output as keyword (lowercase) → the values of each line printing it, in order. */
export function parseSshdT(text: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const raw of text.split("\n")) {
        const line = raw.replace(/\r$/, "");
        if (line.trim() === "") continue;
        const space = line.indexOf(" ");
        const keyword = (space < 0 ? line : line.slice(0, space)).toLowerCase();
        const value = space < 0 ? "" : line.slice(space + 1);
        out.set(keyword, [...(out.get(keyword) ?? []), value]);
    }
    return out;
}

/** Checks whose values differ from sshd -T's, compared as multisets (sshd's line order is not the file's). */
export function compareEffective(checks: readonly EffectiveCheck[], actual: ReadonlyMap<string, readonly string[]>): EffectiveMismatch[] {
    const key = (xs: readonly string[]) => JSON.stringify([...xs].sort());
    return checks.flatMap((check) => {
        const got = actual.get(check.keyword) ?? [];
        return key(got) === key(check.expected) ? [] : [{ ...check, actual: got }];
    });
}
