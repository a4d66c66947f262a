import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import Ajv2020 from "ajv/dist/2020";
import type { Diagnosis } from "../../components/cli/diagnose";
import type { SymptomKind } from "../../components/cli/symptoms";
import type { SnapshotList } from "../../components/cli/snapshots";
import { consoleArgs, parseJson, repoRoot, sshremedy } from "../harness/cli";
import type { ExecResult } from "../harness/exec";
import { FaultId, faultLogin, InjectedFault, injectFault } from "../harness/faults";
import { createHost, destroyHost, ensureClientKeys, TestHost, testRoot } from "../harness/lab";
import { TestStack } from "../harness/pulumi";
import { sshStackFor } from "../harness/stacks";

/**
 * `sshremedy diagnose`, `snapshots` and `restore` as an operator runs them: the real CLI from the
 * sources against test hosts, through their console. Issue 13, item 4.
 */

// --- What "nothing on the host changed" means -------------------------------------------------------

/** Trees whose every file is hashed; a tree that does not exist is recorded as absent. */
const hashedTrees = ["etc", "root", "home", "var/lib/sshremedy"];
/** Trees recorded by listing: type, mode, owner, size, mtime and ctime of each entry, link targets. */
const listedTrees = ["usr/lib"];

interface HostState {
    /** Absolute path on the host -> what it is. */
    readonly files: Map<string, string>;
    /** nft and iptables rule sets, counters and comments left out. */
    readonly firewall: string;
    /** sshd's unit: active state, main pid and start time. */
    readonly sshd: Map<string, string>;
}

function walk(root: string, rel: string, hash: boolean, out: Map<string, string>): void {
    const p = path.join(root, rel);
    let st: fs.Stats;
    try {
        st = fs.lstatSync(p);
    } catch {
        out.set(`/${rel}`, "absent");
        return;
    }
    const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} mtime=${st.mtimeMs} ctime=${st.ctimeMs}`;
    if (st.isSymbolicLink()) {
        out.set(`/${rel}`, `link ${meta} -> ${fs.readlinkSync(p)}`);
    } else if (st.isDirectory()) {
        out.set(`/${rel}`, `dir ${meta}`);
        for (const e of fs.readdirSync(p).sort()) walk(root, path.join(rel, e), hash, out);
    } else if (st.isFile()) {
        const sum = hash ? ` sha256=${crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex")}` : "";
        out.set(`/${rel}`, `file ${meta} size=${st.size}${sum}`);
    } else {
        out.set(`/${rel}`, `special ${meta}`);
    }
}

/** The rule sets as the host's own tools print them, without what every packet changes. */
function normaliseRules(text: string): string {
    return text.split("\n")
        .filter((l) => !l.startsWith("#"))
        .map((l) => l.replace(/\[\d+:\d+\]/g, "[:]").replace(/counter packets \d+ bytes \d+/g, "counter"))
        .join("\n");
}

async function hostState(host: TestHost): Promise<HostState> {
    const files = new Map<string, string>();
    for (const t of hashedTrees) walk(host.root, t, true, files);
    for (const t of listedTrees) walk(host.root, t, false, files);
    // Each tool must run (a healthy host's rule sets are empty: an empty output is no failure).
    const fw = await host.console("set -e; echo '--- nft'; nft -s list ruleset; echo '--- iptables'; iptables-save; echo '--- ip6tables'; ip6tables-save");
    assert.equal(fw.code, 0, `reading the firewall failed: ${fw.stderr}`);
    const unit = await host.console(`systemctl show -p ActiveState -p MainPID -p ExecMainStartTimestampMonotonic -p NRestarts ${host.sshdUnit}`);
    const sshd = new Map(unit.stdout.trim().split("\n").filter(Boolean).map((l) => l.split("=", 2) as [string, string]));
    return { files, firewall: normaliseRules(fw.stdout), sshd };
}

/** Every difference between two states, one line each; empty when the host is unchanged. */
function stateChanges(before: HostState, after: HostState): string[] {
    const out: string[] = [];
    for (const p of new Set([...before.files.keys(), ...after.files.keys()])) {
        const a = before.files.get(p) ?? "absent";
        const b = after.files.get(p) ?? "absent";
        if (a !== b) out.push(`${p}: ${a}  =>  ${b}`);
    }
    if (before.firewall !== after.firewall) out.push(`firewall rule set:\n${before.firewall}\n  =>\n${after.firewall}`);
    // A unit that is failing restarts by itself (Restart=on-failure); one that runs must go on running untouched.
    if (before.sshd.get("ActiveState") === "active") {
        for (const k of ["ActiveState", "MainPID", "ExecMainStartTimestampMonotonic", "NRestarts"]) {
            if (before.sshd.get(k) !== after.sshd.get(k)) out.push(`sshd ${k}: ${before.sshd.get(k)} => ${after.sshd.get(k)}`);
        }
    }
    return out;
}

function assertUnchanged(before: HostState, after: HostState, what: string): void {
    assert.ok(before.files.size > 500, `only ${before.files.size} paths recorded: the comparison would prove nothing`);
    const changes = stateChanges(before, after);
    assert.deepEqual(changes, [], `${what} changed the host:\n${changes.join("\n")}`);
}

// --- Running the CLI --------------------------------------------------------------------------------

const passwordVar = "SSHREMEDY_TEST_LOGIN_PASSWORD";

/** The login options of a fault's login: the main key (offered alone), or the password through the environment. */
async function loginArgs(host: TestHost, login: { user: string; password?: string }): Promise<{ args: string[]; env: NodeJS.ProcessEnv }> {
    const keys = await ensureClientKeys();
    return {
        args: ["--address", host.address, "--user", login.user, ...(login.password !== undefined ? ["--password-env", passwordVar] : ["--key", keys.main])],
        env: login.password !== undefined ? { [passwordVar]: login.password } : {},
    };
}

/** `sshremedy diagnose --json` of a login, through `wayIn` (none: no way in). */
async function diagnoseCli(host: TestHost, login: { user: string; password?: string }, wayIn: string[]): Promise<{ r: ExecResult; d: Diagnosis }> {
    const l = await loginArgs(host, login);
    const r = await sshremedy(["diagnose", "--json", ...l.args, ...wayIn], { env: l.env });
    return { r, d: parseJson<Diagnosis>(r, "sshremedy diagnose --json") };
}

const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, "docs", "diagnose.schema.json"), "utf8")) as object;
const validateDiagnosis = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true }).compile(schema);

function assertValid(d: unknown, what: string): void {
    const ok = validateDiagnosis(d);
    assert.ok(ok, `${what} does not follow docs/diagnose.schema.json:\n${JSON.stringify(validateDiagnosis.errors, null, 2)}\n${JSON.stringify(d, null, 2)}`);
}

/** Runs `f` with at most `n` at a time. */
function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
    let active = 0;
    const waiting: (() => void)[] = [];
    return async (f) => {
        while (active >= n) await new Promise<void>((r) => waiting.push(r));
        active++;
        try {
            return await f();
        } finally {
            active--;
            waiting.shift()?.();
        }
    };
}

/** Started at once, awaited by the test that needs it; a rejection is that test's failure, not the process's. */
function started<T>(p: Promise<T>): Promise<T> {
    p.catch(() => undefined);
    return p;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// --- [diagnose] every fault the harness injects ------------------------------------------------------

interface FaultRun {
    readonly host: { readonly address: string; readonly peer: string };
    readonly cli: ExecResult;
    readonly diagnosis: Diagnosis;
    readonly before: HostState;
    readonly after: HostState;
    /** Host files read before the diagnosis, by path, as lines. */
    readonly text: Map<string, string[]>;
    /** Whether each absolute path that starts an evidence line exists on the host. */
    readonly evidencePaths: Map<string, boolean>;
    readonly seconds: number;
}

/** The line of a host file that holds `text` (1-based), as the host had it before the diagnosis. */
function lineOf(run: FaultRun, file: string, test: (l: string) => boolean): number {
    const lines = run.text.get(file);
    assert.ok(lines, `${file} was not read`);
    const i = lines.findIndex(test);
    assert.ok(i >= 0, `the fault's line is not in the host's ${file}: the harness did not inject what this test expects`);
    return i + 1;
}

/** The directive an sshd_config fault appended, with its file and line. */
function configLine(text: string): (run: FaultRun) => string[] {
    return (run) => [`/etc/ssh/sshd_config:${lineOf(run, "/etc/ssh/sshd_config", (l) => l === text)}: ${text}`];
}

/** A missing file of a package, named first in its evidence line; the test root has it, the host lost it. */
function missingFile(name: string, what: RegExp): (run: FaultRun, evidence: readonly string[]) => void {
    return (run, evidence) => {
        const line = evidence.find((e) => what.test(e));
        assert.ok(line, `no evidence line names the missing ${name}: ${JSON.stringify(evidence)}`);
        const file = /^(\/\S+?): /.exec(line)?.[1];
        assert.ok(file && path.basename(file) === name, `the evidence does not start with the missing file's path: ${line}`);
        assert.equal(run.evidencePaths.get(file), false, `${file} exists on the host: the evidence names the wrong file`);
        assert.ok(fs.existsSync(path.join(testRoot, file)), `${file} is not a file of the healthy host either: the evidence names the wrong file`);
    };
}

interface FaultCase {
    readonly id: FaultId;
    readonly title: string;
    /** What the CLI's own login attempt (one key offered alone, or the password) meets. */
    readonly kind: SymptomKind;
    /** Evidence lines the first cause must carry exactly, computed from the host's files. */
    readonly evidence?: (run: FaultRun) => string[];
    /** Other checks of the evidence. */
    readonly check?: (run: FaultRun, evidence: readonly string[]) => void;
}

const faultCases: FaultCase[] = [
    { id: "S1", title: "AllowUsers excludes the user", kind: "permission-denied", evidence: configLine("AllowUsers bob") },
    { id: "S2", title: "DenyUsers lists the user", kind: "permission-denied", evidence: configLine("DenyUsers alice") },
    { id: "S3", title: "AllowGroups excludes the user's groups", kind: "permission-denied", evidence: configLine("AllowGroups bob") },
    { id: "S4", title: "DenyGroups lists a group of the user", kind: "permission-denied", evidence: configLine("DenyGroups sshusers") },
    { id: "S5", title: "PasswordAuthentication no for a password login", kind: "permission-denied", evidence: configLine("PasswordAuthentication no") },
    {
        id: "S6", title: "hosts.deny blocks sshd", kind: "reset-before-banner",
        check: (run, evidence) => {
            const n = lineOf(run, "/etc/hosts.deny", (l) => l === "sshd: ALL");
            assert.ok(evidence.some((e) => new RegExp(`${escape(run.host.peer)}\\b.*/etc/hosts\\.deny line ${n}\\b`).test(e)),
                `no evidence names the login's source ${run.host.peer} and /etc/hosts.deny line ${n}: ${JSON.stringify(evidence)}`);
        },
    },
    {
        id: "S7", title: "an iptables rule rejects the login's source", kind: "refused",
        check: (run, evidence) => {
            const rule = `-A INPUT -s ${run.host.peer}/32 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset`;
            assert.ok(evidence.some((e) => /^iptables filter INPUT\b/.test(e) && e.endsWith(rule)),
                `no evidence quotes the rule \`${rule}\` of iptables' filter INPUT chain: ${JSON.stringify(evidence)}`);
        },
    },
    { id: "S8", title: "MaxStartups too low for the unauthenticated connections held", kind: "reset-before-banner", evidence: configLine("MaxStartups 1") },
    { id: "S10", title: "PermitRootLogin no for a root key login", kind: "permission-denied", evidence: configLine("PermitRootLogin no") },
    // The harness's S11 login offers three unknown keys before the right one; the CLI offers the
    // one --key alone (IdentitiesOnly), so MaxAuthTries 2 lets it in: exit 0, and the diagnosis
    // still names MaxAuthTries as what refuses a client that offers more keys (an agent's).
    { id: "S11", title: "MaxAuthTries lower than the keys a client offers", kind: "ok", evidence: configLine("MaxAuthTries 2") },
    { id: "S12", title: "a shared library of sshd is missing", kind: "refused", check: missingFile("libwrap.so.0", /\(shared library libwrap\.so\.0\)/) },
    { id: "S13", title: "a PAM module named in /etc/pam.d/sshd is missing", kind: "closed-after-authentication", check: missingFile("pam_loginuid.so", /\(PAM module pam_loginuid\.so\)/) },
    { id: "S14", title: "a ListenAddress the host cannot bind", kind: "refused", evidence: configLine("ListenAddress 198.19.255.254") },
    // The line sshd refuses: a no-break space pasted into a directive, second line of the file.
    {
        id: "S15", title: "a directive with a no-break space in sshd_config", kind: "refused",
        evidence: (run) => {
            const n = lineOf(run, "/etc/ssh/sshd_config", (l) => l.includes("\u00a0"));
            return [`/etc/ssh/sshd_config:${n}: ${run.text.get("/etc/ssh/sshd_config")![n - 1]}`];
        },
    },
    // S9 (SELinux enforcing, ~/.ssh mislabelled) has no case: this kernel has no SELinux, so the
    // harness cannot inject it (faults.ts), and a fake label would test nothing real.
];

/** Host files the expectations read, before the diagnosis runs. */
const textFiles = ["/etc/ssh/sshd_config", "/etc/hosts.deny"];

async function faultRun(id: FaultId): Promise<FaultRun> {
    const host = await createHost();
    let fault: InjectedFault | undefined;
    try {
        fault = await injectFault(host, id);
        const text = new Map(textFiles.map((f) => [f, fs.readFileSync(path.join(host.root, f), "utf8").split("\n")] as [string, string[]]));
        const before = await hostState(host);
        const t0 = Date.now();
        const { r: cli, d: diagnosis } = await diagnoseCli(host, await faultLogin(id), consoleArgs(host));
        const seconds = (Date.now() - t0) / 1000;
        const after = await hostState(host);
        const evidencePaths = new Map<string, boolean>();
        for (const e of diagnosis.causes.flatMap((c) => c.evidence)) {
            const p = /^(\/[^\s:]+)/.exec(e)?.[1];
            if (p) evidencePaths.set(p, fs.existsSync(path.join(host.root, p)));
        }
        return { host: { address: host.address, peer: host.peerAddress }, cli, diagnosis, before, after, text, evidencePaths, seconds };
    } finally {
        fault?.release();
        await destroyHost(host);
    }
}

// --- [diagnose-json] and [restore]: the work before the assertions -----------------------------------

interface JsonRuns {
    readonly healthy: { readonly address: string; readonly peer: string; readonly consolePrefix: readonly string[] };
    readonly outputs: Map<string, { r: ExecResult; d: Diagnosis }>;
}

/** A healthy host and one with S2: diagnosed through the console, without a way in, and through a way in that fails. */
async function jsonRuns(): Promise<JsonRuns> {
    const [healthy, broken] = await Promise.all([createHost(), createHost()]);
    try {
        await injectFault(broken, "S2");
        const alice = await faultLogin("S2");
        const cases: [string, TestHost, string[]][] = [
            ["healthy", healthy, consoleArgs(healthy)],
            ["healthy, no way in", healthy, []],
            ["broken", broken, consoleArgs(broken)],
            ["broken, no way in", broken, []],
            ["broken, the way in fails", broken, ["--console", JSON.stringify(["false"])]],
        ];
        const outputs = new Map(await Promise.all(cases.map(async ([name, h, wayIn]) => [name, await diagnoseCli(h, alice, wayIn)] as const)));
        return { healthy: { address: healthy.address, peer: healthy.peerAddress, consolePrefix: healthy.consolePrefix }, outputs };
    } finally {
        await Promise.all([healthy, broken].map(destroyHost));
    }
}

interface RestorePrep {
    readonly host: TestHost;
    readonly stack: TestStack;
    /** sshd_config before the run, as bytes. */
    readonly original: Buffer;
    /** When the run started, ms since the epoch by this machine's clock. */
    readonly startedAt: number;
    readonly up: ExecResult;
    /** The snapshot the run reported in its outputs. */
    readonly snapshot?: string;
    readonly upSeconds: number;
}

/** A healthy host, and a real pulumi up (over SSH as root) that sets MaxAuthTries 3: the snapshot it takes holds sshd_config. */
async function restorePrep(onHost: (h: TestHost) => void, onStack: (s: TestStack) => void): Promise<RestorePrep> {
    const host = await createHost();
    onHost(host);
    const original = fs.readFileSync(path.join(host.root, "etc/ssh/sshd_config"));
    const startedAt = Date.now();
    const stack = await sshStackFor(host, { sshd: { settings: { maxAuthTries: 3 } } });
    onStack(stack);
    const up = await stack.up();
    const snapshot = up.code === 0 ? ((await stack.outputs()).results as Record<string, { snapshot?: string }>)[host.name]?.snapshot : undefined;
    return { host, stack, original, startedAt, up, snapshot, upSeconds: (Date.now() - startedAt) / 1000 };
}

describe("sshremedy CLI against test hosts (diagnose, diagnose --json, snapshots, restore)", function () {
    this.timeout(300_000);
    const runs = new Map<FaultId, Promise<FaultRun>>();
    let json: Promise<JsonRuns>;
    let prep: Promise<RestorePrep>;
    let restoreHost: TestHost | undefined;
    let restoreStack: TestStack | undefined;

    before(() => {
        // Everything starts at once, seven jobs at a time (the restore's host lives on after its
        // job until its test is done: eight hosts at most); each test waits for what it needs.
        // The longest chain (boot, pulumi up, then the restore test) goes first.
        const slot = limiter(7);
        prep = started(slot(() => restorePrep((h) => { restoreHost = h; }, (s) => { restoreStack = s; })));
        json = started(slot(jsonRuns));
        for (const c of faultCases) runs.set(c.id, started(slot(() => faultRun(c.id))));
    });
    after(async () => {
        await Promise.allSettled([...runs.values(), json, prep].filter(Boolean));
        await restoreStack?.dispose();
        if (restoreHost) await destroyHost(restoreHost);
    });

    // --- [diagnose] every fault the harness injects --------------------------------------------------

    for (const c of faultCases) {
        it(`[diagnose] [${c.id}] ${c.title}: exit ${c.kind === "ok" ? 0 : 1}, ${c.id} the first blocking cause with its evidence, nothing on the host changed`, async () => {
            const run = await runs.get(c.id)!;
            const { cli, diagnosis: d } = run;
            const shown = `${cli.stdout}\n${cli.stderr}`;
            assert.equal(cli.code, c.kind === "ok" ? 0 : 1, `exit ${cli.code}:\n${shown}`);
            assertValid(d, `the diagnosis of ${c.id}`);
            assert.equal(d.looked, true, `the probes did not run:\n${shown}`);
            assert.deepEqual(d.problems, [], "the probes reported problems");
            assert.equal(d.attempt.kind, c.kind, `the login attempt met ${d.attempt.kind}: ${d.attempt.message}`);
            assert.equal(d.attempt.ok, c.kind === "ok");

            assertUnchanged(run.before, run.after, `diagnose of ${c.id}`);

            const first = d.causes.find((x) => x.blocking);
            assert.ok(first, `no blocking cause found:\n${shown}`);
            assert.equal(first.id, c.id, `the first blocking cause is ${first.id}, not ${c.id}: ${d.causes.map((x) => x.id).join(", ")}\n${shown}`);
            assert.equal(d.causes[0].id, c.id, "a cause that does not refuse the login is ranked above the fault");
            // The fault explains what the login met; a login that worked is explained by nothing.
            assert.equal(first.consistent, c.kind !== "ok", `consistent is ${first.consistent}`);
            assert.ok(first.fix.length > 0);
            const expected = c.evidence?.(run) ?? [];
            for (const e of expected) {
                assert.ok(first.evidence.includes(e), `${c.id}'s evidence lacks ${JSON.stringify(e)}: ${JSON.stringify(first.evidence)}`);
            }
            c.check?.(run, first.evidence);

            // One fault injected, one cause that refuses the login; the rest is drift that does not.
            const others = d.causes.filter((x) => x.blocking && x.id !== c.id);
            assert.deepEqual(others.map((x) => `${x.id}: ${x.evidence.join("; ")}`), [], `${c.id} alone was injected, yet more causes refuse the login`);
            console.log(`      diagnose ${run.seconds.toFixed(1)} s`);
        });
    }

    // --- [diagnose-json] the shape docs/diagnose.schema.json documents -------------------------------

    it("[diagnose-json] the schema is valid draft 2020-12, closed everywhere, and refuses what the type does not allow", () => {
        const s = schema as { $schema?: string; additionalProperties?: boolean; $defs?: Record<string, { additionalProperties?: boolean }> };
        assert.equal(s.$schema, "https://json-schema.org/draft/2020-12/schema");
        assert.equal(s.additionalProperties, false);
        for (const name of ["LoginSymptom", "Cause"]) assert.equal(s.$defs?.[name]?.additionalProperties, false, name);
        const good = { schema: "sshremedy-diagnosis/1", login: { address: "192.0.2.1", port: 22, user: "alice", method: "key", sources: [] },
            attempt: { kind: "ok", ok: true, message: "", methodsOffered: [], attempts: 1 }, wayIn: null, looked: false, causes: [], problems: [] };
        assertValid(good, "a minimal diagnosis");
        assert.equal(validateDiagnosis({ ...good, extra: 1 }), false, "a field the type does not have passed");
        assert.equal(validateDiagnosis({ ...good, login: { ...good.login, password: "x" } }), false, "a login field the type does not have passed");
        assert.equal(validateDiagnosis({ ...good, looked: true }), false, "looked without a way in passed");
        const cause = { id: "S16", title: "t", guide: "g", concern: "c", evidence: [], fix: "f", symptoms: ["refused"], blocking: true, consistent: false };
        assert.equal(validateDiagnosis({ ...good, causes: [cause] }), false, "a cause id outside the catalogue passed");
        assert.equal(validateDiagnosis({ ...good, causes: [{ ...cause, id: "S1", note: "x" }] }), false, "a cause field the type does not have passed");
    });

    it("[diagnose-json] a healthy host: exit 0, attempt.ok, looked, nothing blocking", async () => {
        const { healthy, outputs } = await json;
        const { r, d } = outputs.get("healthy")!;
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assertValid(d, "a healthy host's diagnosis");
        assert.equal(d.attempt.ok, true);
        assert.equal(d.attempt.kind, "ok");
        assert.equal(d.looked, true);
        assert.equal(d.wayIn, `console ${healthy.consolePrefix.join(" ")}`);
        assert.deepEqual(d.login, { address: healthy.address, port: 22, user: "alice", method: "key", sources: [healthy.peer] });
        assert.deepEqual(d.causes.filter((c) => c.blocking).map((c) => c.id), []);
    });

    it("[diagnose-json] a healthy host and no way in: exit 0, looked false, wayIn null", async () => {
        const { r, d } = (await json).outputs.get("healthy, no way in")!;
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assertValid(d, "a diagnosis without a way in");
        assert.equal(d.attempt.ok, true);
        assert.equal(d.wayIn, null);
        assert.equal(d.looked, false);
    });

    it("[diagnose-json] a broken host (S2): exit 1, S2 first", async () => {
        const { r, d } = (await json).outputs.get("broken")!;
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assertValid(d, "a broken host's diagnosis");
        assert.equal(d.attempt.ok, false);
        assert.equal(d.attempt.kind, "permission-denied");
        assert.match(d.attempt.message, /Permission denied/);
        assert.equal(d.looked, true);
        assert.equal(d.causes[0]?.id, "S2");
    });

    it("[diagnose-json] a broken host and no way in: exit 1, looked false, wayIn null, the symptom alone", async () => {
        const { r, d } = (await json).outputs.get("broken, no way in")!;
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assertValid(d, "a diagnosis without a way in");
        assert.equal(d.attempt.kind, "permission-denied");
        assert.equal(d.wayIn, null);
        assert.equal(d.looked, false);
        assert.deepEqual(d.problems, []);
    });

    it("[diagnose-json] a way in that fails (a console that exits 1): exit 2, looked false, the failure in problems", async () => {
        const { r, d } = (await json).outputs.get("broken, the way in fails")!;
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assertValid(d, "a diagnosis whose way in failed");
        assert.equal(d.attempt.kind, "permission-denied");
        assert.equal(d.wayIn, "console false");
        assert.equal(d.looked, false);
        assert.deepEqual(d.problems, ["probing console false failed: exit 1"]);
    });

    // --- [restore] a snapshot of a real pulumi up, listed and put back -------------------------------

    it("[restore] snapshots lists the run's snapshot; restore refuses without --yes off a TTY and a bad id, then puts sshd_config back byte for byte and the login works", async () => {
        const { host, original, startedAt, up, snapshot, upSeconds } = await prep;
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        const keys = await ensureClientKeys();
        const config = path.join(host.root, "etc/ssh/sshd_config");
        const changed = fs.readFileSync(config);
        assert.ok(!changed.equals(original), "pulumi up did not change sshd_config: there is nothing to restore");
        assert.match(changed.toString("utf8"), /^MaxAuthTries 3$/m);
        assert.ok(snapshot, "the run reported no snapshot");

        // Listed: the run's snapshot, with when, which run, and what it holds.
        const ls = await sshremedy(["snapshots", "--json", ...consoleArgs(host)]);
        assert.equal(ls.code, 0, ls.stdout + ls.stderr);
        const list = parseJson<SnapshotList>(ls, "sshremedy snapshots --json");
        assert.deepEqual(list.disk, []);
        const snap = list.host.find((s) => s.id === path.basename(snapshot));
        assert.ok(snap, `the run's snapshot ${snapshot} is not listed: ${JSON.stringify(list.host, null, 2)}`);
        assert.ok(snap.paths.includes("file /etc/ssh/sshd_config"), `the snapshot does not hold sshd_config: ${JSON.stringify(snap.paths)}`);
        assert.match(snap.id, /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/);
        assert.ok(Math.abs(snap.created - startedAt / 1000) < 600, `created ${snap.created} is not around the run (${Math.round(startedAt / 1000)})`);
        assert.ok(snap.run && snap.run.length > 0, `the snapshot records no run: ${JSON.stringify(snap)}`);
        const text = await sshremedy(["snapshots", ...consoleArgs(host)]);
        assert.equal(text.code, 0, text.stdout + text.stderr);
        assert.ok(text.stdout.split("\n").some((l) => l.startsWith(`${snap.id}  `) && l.includes(`run ${snap.run}`) && l.includes("/etc/ssh/sshd_config")),
            `the human listing lacks the snapshot: ${text.stdout}`);

        const restoreArgs = (id: string, yes: boolean) => ["restore", id, ...consoleArgs(host),
            "--address", host.address, "--user", "alice", "--key", keys.main, ...(yes ? ["--yes"] : [])];

        // Without --yes and with no TTY to ask on (a "y" on the pipe is no answer): refused, exit 2, nothing changed.
        let before = await hostState(host);
        const asked = await sshremedy(restoreArgs(snap.id, false), { input: "y\n" });
        assert.equal(asked.code, 2, asked.stdout + asked.stderr);
        assert.equal(asked.stderr, "not restored (give --yes to restore without asking)\n");
        assert.equal(asked.stdout, "");
        assertUnchanged(before, await hostState(host), "restore without --yes");

        // A bad id: refused before anything runs on the host.
        for (const bad of ["../x", "/etc", ".hidden", ""]) {
            before = await hostState(host);
            const r = await sshremedy(restoreArgs(bad, true));
            assert.equal(r.code, 2, `restore ${JSON.stringify(bad)}: ${r.stdout}${r.stderr}`);
            assert.equal(r.stderr, `sshremedy: '${bad}' is not a snapshot id (letters, digits, . _ -, as sshremedy snapshots lists them)\n`);
            assertUnchanged(before, await hostState(host), `restore ${JSON.stringify(bad)}`);
        }
        // A well-formed id that is no snapshot: said before anything is locked or changed, exit 2.
        before = await hostState(host);
        const none = await sshremedy(restoreArgs("no-such-snapshot", true));
        assert.equal(none.code, 2, none.stdout + none.stderr);
        assert.match(none.stderr, new RegExp(`^sshremedy: no snapshot no-such-snapshot on the host \\(${escape(snap.id)}\\)\n$`));
        assertUnchanged(before, await hostState(host), "restore of a snapshot that does not exist");

        // With --yes: the file from before the run comes back byte for byte, sshd runs it, the login works.
        const t1 = Date.now();
        const restored = await sshremedy(restoreArgs(snap.id, true));
        const restoreSeconds = (Date.now() - t1) / 1000;
        assert.equal(restored.code, 0, restored.stdout + restored.stderr);
        assert.ok(fs.readFileSync(config).equals(original), "sshd_config is not the file from before the run");
        const lines = restored.stdout.trim().split("\n");
        assert.match(lines[0], new RegExp(`^restored ${escape(snap.id)}: (.*, )?/etc/ssh/sshd_config(, .*)?; sshd restarted$`));
        assert.equal(lines[lines.length - 1], `login works: alice@${host.address}`);
        const effective = await host.consoleOk("sshd -T | grep -i '^maxauthtries '");
        assert.equal(effective.trim(), "maxauthtries 6", "the running sshd does not read the restored file");
        console.log(`      pulumi up ${upSeconds.toFixed(1)} s, restore ${restoreSeconds.toFixed(1)} s`);
    });
});
