import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import { sshdConfigConcern } from "../../components/sshd-config/sshd-config";
import { compareEffective, effectiveChecks, parseSshdT, type EffectiveCheck } from "../../components/sshd-config/effective";
import type { SshdMatchBlock, SshdSettings } from "../../components/sshd-config/validate";
import { isDeclarationError } from "../../components/core/errors";
import { absolutePath, sample, SEED, userName } from "../unit/property/arbitraries";
import { FIELDS, hostileSettings, validSettings } from "../unit/property/settings";

/**
 * The sshd round trip with the real sshd: declarations rendered by the module's own path (the
 * sshd-config concern's plan, as `pulumi up` runs it), then `sshd -T` of OpenSSH 9.2 in the Debian
 * test root says what sshd makes of the file, and it must be what was declared. No test host is
 * booted: sshd runs chrooted, in a mount namespace of its own where the test root's /tmp is this
 * run's folder and /run a tmpfs, so the test root itself is never written to.
 */

const ROOT = process.env.SR_TESTROOT ?? "/var/cache/sshremedy/testroot";
const C = { user: "e2e-nobody", host: "client.example", addr: "192.0.2.10", laddr: "198.51.100.1", lport: 22 };

// --- free-form settings whose printed form sshd -T gives back as declared -------------------------

const env = fc.stringMatching(/^[A-Z_][A-Z0-9_*?]{0,8}$/);
/** Shell metacharacters and all: sshd_config takes them as plain text, and so must this module. */
const word = fc.stringMatching(/^[A-Za-z0-9$()`;|&<>*?!~%@:,./_+-]{1,10}$/);
const yesNo = fc.constantFrom("yes", "no");
const spelledAs = (k: string) => fc.array(fc.boolean(), { minLength: k.length, maxLength: k.length })
    .map((up) => [...k].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(""));

interface ExtraSpec { readonly value: fc.Arbitrary<string | string[]>; readonly printed: (v: string | string[]) => string[]; readonly inMatch: boolean }
const one = (v: string | string[]) => [String(v)];
const each = (v: string | string[]) => (typeof v === "string" ? [v] : [...v]);
const EXTRA: Readonly<Record<string, ExtraSpec>> = {
    Banner: { value: fc.oneof(absolutePath, fc.constant("none"), word.map((w) => `/srv/${w}`)), printed: one, inMatch: true },
    ChrootDirectory: { value: fc.oneof(absolutePath, fc.constant("none")), printed: one, inMatch: true },
    VersionAddendum: { value: word, printed: one, inMatch: false },
    AcceptEnv: { value: fc.array(env, { minLength: 1, maxLength: 3 }), printed: each, inMatch: true },
    X11Forwarding: { value: yesNo, printed: one, inMatch: true },
    PermitTTY: { value: yesNo, printed: one, inMatch: true },
    AllowAgentForwarding: { value: yesNo, printed: one, inMatch: true },
    TCPKeepAlive: { value: yesNo, printed: one, inMatch: false },
    PrintMotd: { value: yesNo, printed: one, inMatch: false },
    ClientAliveCountMax: { value: fc.integer({ min: 0, max: 100 }).map(String), printed: one, inMatch: true },
    ClientAliveInterval: { value: fc.integer({ min: 0, max: 3600 }).map(String), printed: one, inMatch: true },
    LogLevel: {
        value: fc.constantFrom("QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG1", "DEBUG2").chain(spelledAs),
        // sshd -T prints each level by the first name log.c has for it: QUIET as SILENT, DEBUG1 as DEBUG.
        printed: (v) => [({ QUIET: "SILENT", DEBUG1: "DEBUG" } as Record<string, string>)[String(v).toUpperCase()] ?? String(v).toUpperCase()], inMatch: true,
    },
    ForceCommand: { value: fc.array(word, { minLength: 1, maxLength: 4 }), printed: (v) => [each(v).join(" ")], inMatch: true },
    // sshd keeps the first value of a name: names are unique here.
    SetEnv: {
        value: fc.uniqueArray(fc.tuple(env.filter((e) => !/[*?]/.test(e)), word), { selector: ([k]) => k, minLength: 1, maxLength: 2 })
            .map((xs) => xs.map(([k, w]) => `${k}=${w}`)),
        printed: each, inMatch: true,
    },
    Subsystem: { value: absolutePath.map((p) => ["sftp", p]), printed: (v) => [each(v).join(" ")], inMatch: false },
};

function extraOf(inMatch: boolean): fc.Arbitrary<Record<string, string | string[]>> {
    const keys = Object.keys(EXTRA).filter((k) => !inMatch || EXTRA[k].inMatch);
    return fc.uniqueArray(fc.constantFrom(...keys), { maxLength: 4 })
        .chain((ks) => fc.tuple(...ks.map((k) => fc.tuple(spelledAs(k), EXTRA[k].value))))
        .map((pairs) => Object.fromEntries(pairs));
}

/** The checks for `extra` keywords: what sshd -T prints for each, from the declaration. */
function extraChecks(extra: Readonly<Record<string, string | readonly string[]>> | undefined): EffectiveCheck[] {
    return Object.entries(extra ?? {}).map(([k, v]) => {
        const spec = Object.entries(EXTRA).find(([name]) => name.toLowerCase() === k.toLowerCase())![1];
        return { keyword: k.toLowerCase(), expected: spec.printed(v as string | string[]) };
    });
}

// --- Match blocks sshd -T evaluates for the connection -C gives ------------------------------------

const MATCH_FIELDS = FIELDS.filter((f) => ["maxAuthTries", "maxSessions", "permitRootLogin", "pubkeyAuthentication", "passwordAuthentication",
    "kbdInteractiveAuthentication", "authorizedKeysFile"].includes(f.field));

const matchBlock = (user: string): fc.Arbitrary<SshdMatchBlock> => fc.tuple(
    fc.array(userName.filter((u) => !u.endsWith("$")), { maxLength: 2 }), fc.boolean(), fc.option(fc.constantFrom("192.0.2.0/24", "192.0.2.10", "203.0.113.0/24", "!203.0.113.0/24"), { nil: undefined }),
    fc.option(fc.constantFrom(22, 2222), { nil: undefined }),
    fc.record(Object.fromEntries(MATCH_FIELDS.map((f) => [f.field, f.valid])) as Record<string, fc.Arbitrary<unknown>>, { requiredKeys: [] }),
    extraOf(true),
).map(([others, withUser, address, lport, s, extra]) => ({
    criteria: {
        user: withUser ? [user, ...others] : others.length > 0 ? others : ["someone-else"],
        ...(address ? { address: [address] } : {}), ...(lport ? { localPort: [lport] } : {}),
    },
    settings: { ...s, ...(Object.keys(extra).length ? { extra } : {}) } as SshdMatchBlock["settings"],
}));

/**
 * Whether a block applies to the connection C, judged from the declaration (sshd_config(5) Match,
 * PATTERNS): a list matches when one of its plain entries matches and none of its negated ones.
 */
function applies(b: SshdMatchBlock): boolean {
    const c = b.criteria;
    const inNet = (a: string): boolean => a === C.addr || a === "192.0.2.0/24";
    const addresses = c.address ?? [C.addr];
    const address = addresses.some((a) => !a.startsWith("!") && inNet(a)) && !addresses.some((a) => a.startsWith("!") && inNet(a.slice(1)));
    return (c.user ?? [C.user]).includes(C.user) && address && (c.localPort ?? [C.lport]).includes(C.lport);
}

/** What sshd -T -C must print: the global declaration, with each keyword the first applying Match block sets taken from that block. */
function expectedFor(settings: SshdSettings): EffectiveCheck[] {
    const { match, extra, ...global } = settings;
    const checks = new Map<string, EffectiveCheck>();
    const put = (xs: readonly EffectiveCheck[], first: boolean) => xs.forEach((x) => (first && checks.has(x.keyword) ? null : checks.set(x.keyword, x)));
    put([...effectiveChecks(global as SshdSettings), ...extraChecks(extra)], false);
    const taken = new Set<string>();
    for (const b of (match ?? []).filter(applies)) {
        const { extra: bExtra, ...bTyped } = b.settings;
        const fromBlock = [...effectiveChecks(bTyped as SshdSettings), ...extraChecks(bExtra)].filter((x) => !taken.has(x.keyword));
        fromBlock.forEach((x) => {
            checks.set(x.keyword, x);
            taken.add(x.keyword);
        });
    }
    void put;
    return [...checks.values()];
}

// --- rendering, as the concern's plan does it -------------------------------------------------------

const b64 = (t: string) => Buffer.from(t, "utf8").toString("base64");

/** The sshd_config the host would get: the sshd-config concern planned on a probe of a host whose file is `base`. */
function rendered(settings: SshdSettings, mode: "managed" | "replace", base: string): string {
    const concern = sshdConfigConcern({ settings, mode: mode === "managed" ? { kind: "managed" } : { kind: "replace", distro: { id: "debian", version: "12" } } });
    const plan = concern.plan(`config=${b64(base)}\nsshd_active=yes\nos_id=debian\nos_version=12\n`);
    const stage = plan.apply.find((s) => s.script === "sshd-config/stage-validate");
    return stage === undefined ? base : String(stage.env!.SR_SSHD_CONFIG_CONTENT);
}

interface Case { readonly what: string; readonly settings: SshdSettings; readonly config: string; readonly expected: EffectiveCheck[] }

/**
 * Runs `sshd -T -f <file> -h <key> -C …` in the test root for every case: one unshare for all, so
 * the mounts (the run's folder over the root's /tmp, a tmpfs with /run/sshd over its /run) live
 * only as long as that one process and are seen by nothing else.
 */
function sshdT(cases: readonly Case[], work: string, tag: string): Array<{ rc: number; out: string; err: string }> {
    const [cdir, odir] = [`c-${tag}`, `out-${tag}`];
    fs.mkdirSync(path.join(work, cdir), { recursive: true });
    fs.mkdirSync(path.join(work, odir), { recursive: true });
    cases.forEach((c, i) => fs.writeFileSync(path.join(work, cdir, `${i}.conf`), c.config));
    const connection = `user=${C.user},host=${C.host},addr=${C.addr},laddr=${C.laddr},lport=${C.lport}`;
    const driver = [
        "set -e",
        `mount -t tmpfs sshremedy-property-run "${ROOT}/run"`,
        `mkdir -p "${ROOT}/run/sshd"`,
        `mount --bind "${work}" "${ROOT}/tmp"`,
        "set +e",
        `i=0; while [ "$i" -lt ${cases.length} ]; do`,
        `  chroot "${ROOT}" /usr/sbin/sshd -T -f "/tmp/${cdir}/$i.conf" -h /tmp/hostkey -C "${connection}" > "${work}/${odir}/$i.out" 2> "${work}/${odir}/$i.err"`,
        `  echo $? > "${work}/${odir}/$i.rc"; i=$((i+1))`,
        "done",
    ].join("\n");
    const r = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", driver], { encoding: "utf8", timeout: 300_000 });
    assert.equal(r.status, 0, `unshare/chroot failed (${r.status}): ${r.stderr}`);
    return cases.map((_, i) => ({
        rc: Number(fs.readFileSync(path.join(work, odir, `${i}.rc`), "utf8")),
        out: fs.readFileSync(path.join(work, odir, `${i}.out`), "utf8"),
        err: fs.readFileSync(path.join(work, odir, `${i}.err`), "utf8"),
    }));
}

/** Every case sshd refused, or whose effective values are not the declared ones, with what to reproduce it. */
function failures(cases: readonly Case[], results: ReturnType<typeof sshdT>): string[] {
    return cases.flatMap((c, i) => {
        const r = results[i];
        const hostKey = c.settings.hostKey ? { keyword: "hostkey", expected: [...c.settings.hostKey, "/tmp/hostkey"] } : undefined;
        const checks = c.expected.map((x) => (x.keyword === "hostkey" && hostKey ? hostKey : x));
        const bad = r.rc === 0 ? compareEffective(checks, parseSshdT(r.out)) : [];
        if (r.rc === 0 && bad.length === 0) return [];
        return [`${c.what} #${i}: ${r.rc !== 0 ? `sshd -T exited ${r.rc}: ${r.err.trim()}` : bad.map((m) => `${m.keyword}: sshd ${JSON.stringify(m.actual)}, declared ${JSON.stringify(m.expected)}`).join("; ")}\n`
            + `  settings ${JSON.stringify(c.settings)}\n  file:\n${c.config.replace(/^/gm, "    | ")}`];
    });
}

describe("[property] sshd -T reads what was declared: the real sshd of the Debian test root, chrooted", function () {
    this.timeout(600_000);
    let work: string;
    let base: string;

    before(function () {
        // Nothing is skipped silently: without the test root or root, this fails saying why.
        assert.ok(fs.existsSync(path.join(ROOT, "usr/sbin/sshd")),
            `no sshd at ${ROOT}/usr/sbin/sshd: build the Debian test root first (scripts/testroot.sh, run by npm test), or set SR_TESTROOT`);
        assert.equal(process.getuid?.(), 0, "the sshd -T round trip chroots into the test root and needs root (npm test runs e2e as root)");
        base = fs.readFileSync(path.join(ROOT, "etc/ssh/sshd_config"), "utf8");
        work = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-property-sshd-"));
        const kg = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path.join(work, "hostkey")], { encoding: "utf8" });
        assert.equal(kg.status, 0, kg.stderr);
        console.log(`      seed ${SEED} (SR_PROPERTY_SEED), test root ${ROOT}`);
    });
    after(() => {
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("[property] valid declarations, replace mode with Match blocks and managed mode on Debian's own file: sshd -T prints every declared value", () => {
        const replace = sample(fc.tuple(validSettings({ withMatch: false, extra: extraOf(false) }), fc.array(matchBlock(C.user), { maxLength: 2 })), 400)
            .map(([s, match]): Case => {
                const settings = { ...s, ...(match.length ? { match } : {}) } as SshdSettings;
                return { what: "replace", settings, config: rendered(settings, "replace", base), expected: expectedFor(settings) };
            });
        // Debian's own file, and the same as a host upgraded from Debian 11 may have it: old aliases ahead of everything.
        const aliased = `ChallengeResponseAuthentication yes\nDSAAuthentication yes\nPubkeyAcceptedKeyTypes +ssh-rsa\n${base}`;
        const managed = sample(fc.tuple(validSettings({ withMatch: false, extra: extraOf(false) }), fc.constantFrom(base, aliased)), 300)
            .map(([settings, file]): Case => ({ what: "managed", settings, config: rendered(settings, "managed", file), expected: expectedFor(settings) }));
        const cases = [...replace, ...managed];
        const t0 = Date.now();
        const bad = failures(cases, sshdT(cases, work, "valid"));
        console.log(`      ${cases.length} sshd -T runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        assert.deepEqual(bad.slice(0, 3), [], `${bad.length} of ${cases.length} cases differ (first 3 shown): ${bad.map((b) => b.split("\n")[0]).join(" | ")}`);
    });

    it("[property] hostile typed settings the module accepts are accepted by sshd too, and read back as declared", () => {
        const cases: Case[] = [];
        let refused = 0;
        for (const g of sample(hostileSettings({ withMatch: false }), 1500)) {
            const { extra: _extra, ...settings } = g.settings as SshdSettings & { extra?: unknown };
            void _extra;
            let config: string;
            try {
                config = rendered(settings, "replace", base);
            } catch (e) {
                if (!isDeclarationError(e)) throw e;
                refused++;
                continue;
            }
            cases.push({ what: "hostile, accepted", settings, config, expected: expectedFor(settings) });
        }
        const bad = failures(cases, sshdT(cases, work, "hostile"));
        console.log(`      ${cases.length} accepted (sshd -T run on each), ${refused} refused by the module`);
        assert.deepEqual(bad.slice(0, 3), [], `${bad.length} of ${cases.length} cases differ (first 3 shown)`);
    });
});
