import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { composePhase, type Step, withParameters } from "../../../components/core/compose";
import type { Concern } from "../../../components/core/concern";
import type { HostsFileDeclaration } from "../../../components/hosts-access/hosts-access";
import { isDeclarationError } from "../../../components/core/errors";
import { runScript } from "../../../components/core/transport";
import { checkCommandPrefix } from "../../../components/declaration";
import { type KnownSshAccessArgs, SshAccess, type SshAccessArgs, sshAccessConcerns } from "../../../components/ssh-access";
import { SshdConfig } from "../../../components/sshd-config/sshd-config";
import type { SshdMatchBlock, SshdSettings } from "../../../components/sshd-config/validate";
import { hasLoneSurrogate, hostileString, params, SEED, wrongType } from "./arbitraries";
import { declarationPath, type GeneratedDeclaration, hostileDeclaration } from "./declaration";
import { type Env, parseSshdConfig, shellMismatches } from "./oracles";
import { assertAcceptable, assertDirectives, assertRefusal, expectedCondition, hostileSettings, type Injection } from "./settings";

const BASE = "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\nUsePAM yes\nX11Forwarding yes\nSubsystem sftp /usr/lib/openssh/sftp-server\n";
const b64 = (t: string) => Buffer.from(t, "utf8").toString("base64");

/** What each concern's probe prints on a plain Debian host that has no hosts files: enough for every plan. */
const PROBE: Record<string, string> = {
    "sshd-config": `config=${b64(BASE)}\nsshd_active=yes\nos_id=debian\nos_version=12\nlogin_groups=staff\n`,
    "hosts-access": "allow=absent\ndeny=absent\nsshd_libwrap=yes\n",
};

/** Every step the declaration sends to the host: each concern's probe, and the apply steps of the plans that read only the declaration. */
function hostSteps(concerns: readonly Concern[]): Step[] {
    return concerns.flatMap((c) => [c.probe, ...(PROBE[c.name] === undefined ? [] : c.plan(PROBE[c.name]).apply)]);
}

/** A string that sits at `key` of some step's env, exactly. */
function envOf(steps: readonly Step[], script: string, key: string): string | undefined {
    const v = steps.find((s) => s.script === script)?.env?.[key];
    return v === undefined ? undefined : String(v);
}

/**
 * What the declaration's values must be where they reach the host: the sshd_config sshd reads,
 * the parameters of the scripts, the hosts files, exactly as declared.
 */
function assertReachesHostExactly(a: KnownSshAccessArgs, steps: readonly Step[]): void {
    const login = a.login;
    const sshd = a.sshd ?? {};
    const settings = (sshd.settings ?? {}) as SshdSettings;
    const mode = sshd.mode ?? { kind: "managed" };
    const configPath = sshd.configPath ?? "/etc/ssh/sshd_config";
    for (const s of steps) {
        assert.equal(s.then, undefined, `${s.script}: shell text beside the quoted parameters`);
        // The parameters reach the script through compose's quoted assignments, and only there.
        const phase = composePhase([s]);
        assert.ok(phase.includes(`set -eu\n${withParameters(s.env as Env ?? {}, "")}# sshremedy-script ${s.script}\n`), `${s.script}: parameters not where compose puts them`);
    }
    assert.equal(envOf(steps, "sshd-config/probe", "SR_SSHD_CONFIG_TARGET"), configPath);
    assert.equal(envOf(steps, "sshd-config/probe", "SR_LOGIN_USER"), login.user);
    const sources = login.sources ?? [];
    const from = /^[0-9A-Fa-f.:]+(?:\/(?:32|128))?$/.test(sources[0] ?? "") ? sources[0].split("/")[0] : "127.0.0.1";
    const connect = `user=${login.user},host=${from},addr=${from},laddr=${login.address},lport=${login.port ?? settings.port ?? 22}`;
    assert.equal(envOf(steps, "sshd-config/probe", "SR_CONNECT"), connect);
    if (a.selinux !== false) {
        assert.equal(envOf(steps, "selinux-mode/probe", "SR_SELINUX_CONFIG"), a.selinux?.configPath ?? "/etc/selinux/config");
        // Declared (null: none), or the login's user.
        const users = a.selinux && "relabelUsers" in a.selinux ? a.selinux.relabelUsers ?? [] : [login.user];
        assert.equal(envOf(steps, "selinux-mode/probe", "SR_USERS"), users.join("\n"));
    }
    if (a.runtime !== false) {
        assert.equal(envOf(steps, "sshd-runtime/probe", "SR_PAM_SERVICE"), a.runtime?.pamService ?? "/etc/pam.d/sshd");
        assert.equal(envOf(steps, "sshd-runtime/probe", "SR_PACKAGE_DIRS"), (a.runtime?.packageDirs ?? ["/var/cache/apt/archives"]).join("\n"));
        assert.equal(envOf(steps, "sshd-runtime/probe", "SR_SOURCES_FROM"), (a.runtime?.sources ?? []).map((x) => x.from).join("\n"));
    }
    if (a.account !== false) {
        assert.equal(envOf(steps, "account/probe", "SR_USER"), login.user);
        assert.equal(envOf(steps, "account/probe", "SR_SHELL"), a.account?.shell);
    }
    const fw = envOf(steps, "firewall-allowlist/probe", "SR_FWD_RULES");
    if (fw !== undefined) {
        const allow = (a.firewall ? a.firewall.allow : undefined) ?? sources;
        assert.deepEqual(fw.split("\n").map((r) => /source address="([^"]*)"/.exec(r)?.[1]), [...allow]);
    }
    // hosts.allow and hosts.deny: a declared file whole, or each declared rule as one line.
    const ha = a.hostsAccess;
    const files = steps.filter((s) => s.script === "hosts-access/apply").flatMap((s) => {
        const env = s.env as Env;
        return Array.from({ length: Number(env.SR_HA_COUNT) }, (_, i) => [String(env[`SR_HA_PATH_${i + 1}`]), String(env[`SR_HA_CONTENT_${i + 1}`])]);
    });
    if (ha && sources.length > 0) {
        for (const which of ["allow", "deny"] as const) {
            const d: HostsFileDeclaration | undefined = ha[which];
            const text = files.find(([p]) => p === `/etc/hosts.${which}`)?.[1];
            if (d?.kind === "content" && (which === "deny" || d.text !== "")) assert.equal(text, d.text, `/etc/hosts.${which}`);
            if (d?.kind === "entries") for (const e of d.entries) assert.ok((text ?? "").split("\n").includes(e), `/etc/hosts.${which} lacks ${JSON.stringify(e)}`);
        }
    }
    // sshd_config: every declared value is what sshd reads, in the file the host gets.
    const staged = envOf(steps, "sshd-config/stage-validate", "SR_SSHD_CONFIG_CONTENT");
    if (staged !== undefined) {
        assert.equal(envOf(steps, "sshd-config/stage-validate", "SR_CHECK_CONNECTION"), connect);
        const lines = parseSshdConfig(staged);
        const { match, ...global } = settings;
        assertDirectives(lines.filter((l) => l.block === -1), global as SshdSettings, "sshd_config");
        const blocks: readonly SshdMatchBlock[] = mode.kind === "replace" ? match ?? [] : [];
        assert.equal(lines.filter((l) => l.keyword === "match").length, blocks.length, "Match blocks");
        blocks.forEach((b, i) => {
            assert.deepEqual(lines.find((l) => l.keyword === "match" && l.block === i)?.args, expectedCondition(b));
            assertDirectives(lines.filter((l) => l.block === i && l.keyword !== "match"), b.settings as SshdSettings, `match[${i}]`);
        });
    }
}

/**
 * The argument a refusal's message names after `under`: the longest injected path it starts with,
 * up to the ": " after it (a hostile key may itself hold ": "), else up to the first ": ".
 */
function argumentOf(message: string, under: string, injections: readonly Injection[]): string {
    assert.ok(message.startsWith(under), `does not start with ${JSON.stringify(under)}: ${message}`);
    const known = injections.map((x) => `${under}${x.path}`).filter((p) => message.startsWith(p)).sort((a, b) => b.length - a.length)[0];
    const end = message.indexOf(": ", known?.length ?? under.length);
    assert.ok(end > 0, `no argument in ${message}`);
    return message.slice(0, end);
}

describe("[property] whole declarations: refused at preview naming the argument, or reaching the host only quoted and exactly", () => {
    before(() => console.log(`      seed ${SEED} (SR_PROPERTY_SEED)`));

    it("[property] SshAccess (every concern): a hostile value is refused naming its argument; every accepted value reaches the host exactly, also through a real sh", () => {
        const sent: Array<{ env: Env; decl: GeneratedDeclaration }> = [];
        let accepted = 0;
        fc.assert(fc.property(hostileDeclaration(), (g) => {
            let concerns: Concern[];
            try {
                concerns = sshAccessConcerns(g.args);
            } catch (e) {
                assertRefusal(e, g.injections);
                return;
            }
            assertAcceptable(g.injections);
            // Nothing is refused only once the probe is back: each plan runs here on a probe's output.
            const steps = hostSteps(concerns);
            assertReachesHostExactly(g.args, steps);
            accepted++;
            for (const s of steps) sent.push({ env: (s.env ?? {}) as Env, decl: g });
        }), params(1500));
        // One real shell for all of them: every parameter a script gets holds exactly the value given.
        const bad = shellMismatches(sent.map((x) => x.env));
        assert.deepEqual(bad.slice(0, 3).map(([i, k, given, held, shell]) => ({ shell, k, given, held, declaration: sent[i].decl })), []);
        assert.ok(accepted > 100, `only ${accepted} declarations were accepted: the generators make too few valid ones`);
    });

    describe("through the components, under Pulumi's mocks", () => {
        let dir = "";
        let privateKey = "";
        const logged: string[] = [];
        const logError = pulumi.log.error;
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-property-"));
            execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "id")]);
            privateKey = fs.readFileSync(path.join(dir, "id"), "utf8");
            pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) }, "sshremedy", "unit", true);
            (pulumi.log as { error: typeof pulumi.log.error }).error = async (msg: string) => {
                logged.push(msg);
            };
        });
        after(() => {
            (pulumi.log as { error: typeof pulumi.log.error }).error = logError;
            if (dir) fs.rmSync(dir, { recursive: true, force: true });
        });
        /** A console that leaves a file behind if anything is ever sent through it, then hostile arguments after. */
        const touching = (n: number, tail: readonly unknown[]) => ["sh", "-c", 'touch "$0"; exit 1', path.join(dir, `touched-${n}`), ...tail];
        const argvTail = fc.oneof(
            { weight: 4, arbitrary: fc.constant([]) },
            { weight: 2, arbitrary: fc.array(hostileString, { minLength: 1, maxLength: 3 }) },
            { weight: 1, arbitrary: fc.array(wrongType, { minLength: 1, maxLength: 2 }) },
        );
        const argvVerdict = (tail: readonly unknown[]) =>
            (tail.every((a) => typeof a === "string" && a !== "" && !a.includes("\0") && !hasLoneSurrogate(a)) ? "valid" : "bad");
        let n = 0;

        it("[property] SshAccess: refused before any script (at construction, or as soon as values from other resources are known) under declarationPath naming the argument", async () => {
            let refused = 0;
            await fc.assert(fc.asyncProperty(hostileDeclaration(), declarationPath, argvTail, fc.boolean(), async (g, prefix, tail, later) => {
                const i = n++;
                const l = g.args.login as Record<string, unknown>;
                const { publicKey: _pk, privateKey: _k, ...rest } = l;
                void _pk;
                void _k;
                const login = { ...rest, ...(l.privateKey !== undefined ? { privateKey: pulumi.secret(privateKey) } : {}) };
                const args = {
                    ...g.args, declarationPath: prefix,
                    // Not offline: an accepted declaration's probe runs through the console (and touches its file).
                    target: { kind: "console", prefix: touching(i, tail) }, offlinePreview: false,
                    // Values that come from other resources: the address, the user and the sources.
                    login: later ? { ...login, address: pulumi.output(l.address), user: pulumi.output(l.user), sources: pulumi.output(l.sources) } : login,
                } as unknown as SshAccessArgs;
                const injections: Injection[] = [...g.injections, { path: "target.prefix", value: tail, verdict: argvVerdict(tail) }];
                logged.length = 0;
                let refusal: string | undefined;
                try {
                    const a = new SshAccess(`p${i}`, args);
                    await Promise.race([
                        new Promise<void>((resolve) => a.drift.apply(() => resolve())),
                        new Promise<void>((_, reject) => setTimeout(() => reject(new Error("neither refused nor planned within 5 s")), 5000)),
                    ]);
                    refusal = logged.find((m) => !/: probing console /.test(m));
                } catch (e) {
                    assert.ok(pulumi.ResourceError.isInstance(e), `not a ResourceError: ${e}`);
                    refusal = e.message;
                }
                if (refusal === undefined) {
                    assertAcceptable(injections);
                    return;
                }
                refused++;
                const under = prefix === undefined ? "" : `${prefix}.`;
                assertRefusal(new Error(refusal), injections, under, () => argumentOf(refusal!, under, injections));
                // Nothing of a refused declaration ever ran on the host.
                assert.equal(fs.existsSync(path.join(dir, `touched-${i}`)), false, `refused (${refusal}), yet the console ran`);
            }), params(60));
            assert.ok(refused > 10, `only ${refused} refused`);
        });

        it("[property] SshdConfig: a hostile setting is refused at construction naming settings.<argument> under declarationPath", () => {
            fc.assert(fc.property(hostileSettings({ withMatch: true }), declarationPath, fc.constantFrom("managed", "replace"), (g, prefix, kind) => {
                const i = n++;
                const under = prefix === undefined ? "" : `${prefix}.`;
                try {
                    new SshdConfig(`s${i}`, {
                        target: { kind: "console", prefix: touching(i, []) as string[] }, settings: g.settings, declarationPath: prefix, offlinePreview: true,
                        mode: kind === "managed" ? { kind } : { kind, distro: { id: "debian", version: "12" } },
                        verify: { host: "198.18.0.2", user: "alice", password: "pw" },
                    });
                } catch (e) {
                    assert.ok(pulumi.ResourceError.isInstance(e), `not a ResourceError: ${e}`);
                    const injections = g.injections.map((x) => ({ ...x, path: `settings.${x.path}` }));
                    if (kind === "managed" && g.settings.match !== undefined) injections.push({ path: "settings.match", value: g.settings.match, verdict: "bad" });
                    assertRefusal(e, injections, under, () => argumentOf(e.message, under, injections));
                    return;
                }
                assertAcceptable(g.injections);
                assert.ok(kind === "replace" || g.settings.match === undefined, "Match blocks accepted in managed mode, where they are never written");
            }), params(500));
        });
    });

    it("[property] console argv: refused naming target.prefix[i], or passed to the host's command exactly, through the transport's real spawn", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-argv-"));
        try {
            let k = 0;
            await fc.assert(fc.asyncProperty(fc.array(fc.oneof(hostileString, wrongType), { minLength: 1, maxLength: 5 }), async (tail) => {
                const out = path.join(dir, `argv-${k++}`);
                const prefix = ["/bin/sh", "-c", 'printf "%s\\0" "$@" > "$0"', out, ...tail];
                try {
                    checkCommandPrefix("target.prefix", prefix);
                } catch (e) {
                    assert.ok(isDeclarationError(e), String(e));
                    assert.match(e.argument, /^target\.prefix\[\d+\]$/);
                    const bad = prefix[Number(/\[(\d+)\]/.exec(e.argument)![1])];
                    assert.ok(typeof bad !== "string" || bad === "" || bad.includes("\0") || hasLoneSurrogate(bad), `refused ${JSON.stringify(bad)}`);
                    return;
                }
                const r = await runScript({ kind: "console", prefix: prefix as string[] }, "exit 0\n");
                assert.equal(r.code, 0, r.stderr);
                const got = fs.readFileSync(out).toString("utf8").split("\0").slice(0, -1);
                assert.deepEqual(got, [...(tail as string[]), "/bin/sh", "-s"]);
            }), params(60));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
