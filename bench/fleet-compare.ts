/**
 * Benchmark (not a test): the same repair of one fault ([S2], `DenyUsers alice`) on 1, 10 and 50
 * test hosts by four tools, on the same hosts in one run, each measured twice: the repair (the
 * fault injected afresh just before) and the converged rerun (the same command again, nothing
 * to fix).
 *
 *   ansible          bench/ansible/repair-sshd.yml: template with backup and `sshd -t` validation,
 *                    restart handler, a fresh login of alice from this machine (forks 50, pipelining)
 *   pulumi (ssh)     `pulumi up` of this project's index.ts, each host reached over SSH as root
 *   pulumi (console) the same through each host's console
 *   floor            one `ssh root@host sh -s` per host, all at once: backup, write, `sshd -t`,
 *                    restart, then a fresh login of alice from this machine
 *
 * Every run is checked: alice's real login must fail before each repair and work on every host
 * after it and after the rerun, or the benchmark stops with an error. Prints a table, writes the
 * numbers to docs/fleet-bench.json and a chart to docs/fleet-bench.png. Needs root (test hosts).
 *
 *   npm run bench:fleet                          # 1, 10 and 50 hosts, all four tools, median of 3 runs
 *   npm run bench:fleet -- --sizes 1,10          # fewer sizes
 *   npm run bench:fleet -- --repeat 1            # one run per size instead of three
 *   npm run bench:fleet -- --tools ansible,floor # some of ansible, pulumi-ssh, pulumi-console, floor
 *   npm run bench:fleet -- --parallel 50         # `pulumi up --parallel 50` instead of the CLI's default
 *   npm run bench:fleet -- --logs /tmp/bench     # keep each run's output, lines stamped with their time
 *   npm run bench:fleet -- --setup-only          # only install ansible-core (once, into the cache)
 *   npm run bench:fleet -- --cpu                 # also where each pulumi up's CPU went (process accounting)
 *   npm run bench:fleet -- --redraw docs/fleet-bench.json   # the chart again from saved numbers
 * Only the full default run writes docs/; any other goes to a temp folder unless --out DIR is given.
 * Each measured run starts on a quiet machine (under 15 % CPU for two seconds); each repeat of a
 * size starts with another tool (the first after boot meets colder hosts).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { pathToFileURL } from "url";
import { parseArgs } from "util";
import Table = require("cli-table3");
import { Resvg } from "@resvg/resvg-js";
import { run, runOk } from "../test/harness/exec";
import { injectFault } from "../test/harness/faults";
import { createHosts, destroyHost, ensureClientKeys, TestHost } from "../test/harness/lab";
import { TestStack } from "../test/harness/pulumi";
import { sshLogin } from "../test/harness/ssh";
import { CpuSplit, ensureAcct, withAccounting } from "./cpu-split";
import { machineBasics } from "./machine";

const project = path.join(__dirname, "..");
const ansibleDir = path.join(__dirname, "ansible");
const cacheDir = process.env.SSHREMEDY_CACHE ?? "/var/cache/sshremedy";
const ansibleVersion = "2.19.14";
const defaultSizes = [1, 10, 50];
/** Each size is run this many times on fresh hosts and stacks; the table shows the medians. */
const defaultRepeat = 3;
/** One run of any tool may take this long before it counts as hung. */
const runTimeoutMs = 30 * 60_000;

const allTools = ["ansible", "pulumi-ssh", "pulumi-console", "floor"] as const;
type Tool = (typeof allTools)[number];
/** The tools this run measures (`--tools`), in the order above. */
let tools: readonly Tool[] = allTools;
const toolLabel: Record<Tool, string> = {
    "ansible": "Ansible playbook",
    "pulumi-ssh": "pulumi up (ssh)",
    "pulumi-console": "pulumi up (console)",
    "floor": "floor (one ssh session)",
};

interface Timed {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
    /** Milliseconds from the start at which each stdout line arrived. */
    readonly lines: { readonly at: number; readonly text: string }[];
    readonly pid: number;
}

/**
 * Where a `pulumi up` spent its wall time, read from when its progress lines arrived (the CLI
 * prints them in bursts, so each boundary is good to a few tenths of a second). A converged
 * rerun prints no resource lines: only its total is known.
 */
interface PulumiPhases {
    /** Start until the stack resource shows: the CLI, the engine, the language host, Node. */
    readonly engineMs: number;
    /** Until the first host's component shows: index.ts loading and declaring every host (program CPU). */
    readonly programMs: number;
    /** Until the first step resource shows: the program's read-only probes of the hosts. */
    readonly probeMs: number;
    /** Until the last step finished: host key check, snapshot, apply, verifying login. */
    readonly stepsMs: number;
    /** Until the process exits: outputs, the final checkpoint, shutdown. */
    readonly tailMs: number;
    /** What pulumi itself printed as `Duration:`. */
    readonly reported?: string;
}

interface Measure {
    readonly seconds: number;
    readonly phases?: PulumiPhases;
    /** `--cpu`, pulumi only: CPU seconds by who spent them (see cpu-split.ts). */
    readonly cpu?: CpuSplit;
    /** Floor only: the slowest host's shell session and its login after it, in seconds. */
    readonly slowestSession?: number;
    readonly slowestLogin?: number;
}

interface ToolResult {
    readonly repair: Measure;
    readonly rerun: Measure;
    /** Pulumi only: `pulumi stack export` bytes, and resources, divided by hosts. */
    readonly stateBytesPerHost?: number;
    readonly backendBytesPerHost?: number;
    readonly resourcesPerHost?: number;
}

interface SizeResult {
    readonly hosts: number;
    readonly tools: Partial<Record<Tool, ToolResult>>;
}

/** Runs argv and records when each stdout line arrived; never through a shell. */
function runTimed(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {}): Promise<Timed> {
    return new Promise((resolve, reject) => {
        const start = process.hrtime.bigint();
        const since = () => Number(process.hrtime.bigint() - start) / 1e6;
        const child = spawn(argv[0], argv.slice(1), { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const lines: { at: number; text: string }[] = [];
        let partial = "";
        child.stdout.on("data", (b: Buffer) => {
            out.push(b);
            const at = since();
            const parts = (partial + b.toString("utf8")).split("\n");
            partial = parts.pop() ?? "";
            for (const text of parts) lines.push({ at, text });
        });
        child.stderr.on("data", (b: Buffer) => err.push(b));
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? runTimeoutMs);
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            const ms = since();
            if (partial) lines.push({ at: ms, text: partial });
            resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), ms, lines, pid: child.pid ?? 0 });
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.input ?? "");
    });
}

// --- checks --------------------------------------------------------------------------------------

async function aliceLogins(hosts: readonly TestHost[]): Promise<{ host: TestHost; ok: boolean; symptom: string }[]> {
    const keys = await ensureClientKeys();
    return Promise.all(hosts.map(async (host) => {
        const r = await sshLogin({ address: host.address, user: "alice", keys: [keys.main] });
        return { host, ok: r.ok, symptom: r.symptom };
    }));
}

/** Fails loudly unless alice's real login works on every host. */
async function requireLoginWorks(hosts: readonly TestHost[], what: string): Promise<void> {
    const failed = (await aliceLogins(hosts)).filter((r) => !r.ok);
    if (failed.length > 0) {
        throw new Error(`${what}: alice cannot log in on ${failed.length} of ${hosts.length} hosts:\n`
            + failed.map((f) => `  ${f.host.name} (${f.host.address}): ${f.symptom.replace(/\n/g, " | ")}`).join("\n"));
    }
}

/** Injects [S2] on every host and proves it took: alice's login is refused everywhere. */
async function breakAll(hosts: readonly TestHost[], before: string): Promise<void> {
    await Promise.all(hosts.map(async (h) => (await injectFault(h, "S2")).release()));
    const still = (await aliceLogins(hosts)).filter((r) => r.ok || !/Permission denied/.test(r.symptom));
    if (still.length > 0) {
        throw new Error(`[S2] before ${before}: the fault did not take on ${still.map((s) => s.host.name).join(", ")}`);
    }
}

// --- Ansible -------------------------------------------------------------------------------------

/** ansible-core in a virtual environment of its own, outside the repository; made once. */
async function ensureAnsible(): Promise<string> {
    const venv = path.join(cacheDir, "ansible", ansibleVersion);
    const playbookBin = path.join(venv, "bin", "ansible-playbook");
    const installed = fs.existsSync(playbookBin)
        && (await run([playbookBin, "--version"])).stdout.includes(`core ${ansibleVersion}`);
    if (!installed) {
        const python = process.env.SSHREMEDY_PYTHON ?? "python3";
        console.log(`== ansible-core ${ansibleVersion}: installing into ${venv} (once)`);
        fs.rmSync(venv, { recursive: true, force: true });
        fs.mkdirSync(path.dirname(venv), { recursive: true });
        await runOk([python, "-m", "venv", venv], { timeoutMs: 300_000 });
        await runOk([path.join(venv, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check", "--no-input",
            `ansible-core==${ansibleVersion}`], { timeoutMs: 900_000 });
    }
    return playbookBin;
}

interface RecapLine {
    readonly ok: number;
    readonly changed: number;
    readonly unreachable: number;
    readonly failed: number;
}

function playRecap(stdout: string): Map<string, RecapLine> {
    const recap = new Map<string, RecapLine>();
    const at = stdout.lastIndexOf("PLAY RECAP");
    for (const line of stdout.slice(at < 0 ? stdout.length : at).split("\n")) {
        const m = /^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/.exec(line);
        if (m) {
            recap.set(m[1], { ok: Number(m[2]), changed: Number(m[3]), unreachable: Number(m[4]), failed: Number(m[5]) });
        }
    }
    return recap;
}

async function ansibleRun(playbookBin: string, hosts: readonly TestHost[], expectChange: boolean): Promise<Measure> {
    const keys = await ensureClientKeys();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-ansible-"));
    const controlDir = path.join(work, "cp");
    fs.mkdirSync(controlDir);
    try {
        const inventory = path.join(work, "inventory.ini");
        fs.writeFileSync(inventory, fs.readFileSync(path.join(ansibleDir, "inventory.ini.in"), "utf8")
            .replace(/^@HOSTS@$/m, () => hosts.map((h) => `${h.name} ansible_host=${h.address}`).join("\n"))
            .replace(/@KEY@/g, keys.main));
        const env: NodeJS.ProcessEnv = {
            PATH: `${path.dirname(playbookBin)}:${process.env.PATH ?? ""}`,
            HOME: work,
            LANG: "C.UTF-8",
            ANSIBLE_CONFIG: path.join(ansibleDir, "ansible.cfg"),
            ANSIBLE_HOME: path.join(work, "home"),
            ANSIBLE_LOCAL_TEMP: path.join(work, "tmp"),
            ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
        };
        const r = await runTimed([playbookBin, "-i", inventory, path.join(ansibleDir, "repair-sshd.yml")], { env, cwd: work });
        keepLog(`${hosts.length}-ansible-${expectChange ? "repair" : "rerun"}`, r);
        const recap = playRecap(r.stdout);
        const bad = hosts.filter((h) => {
            const line = recap.get(h.name);
            return !line || line.failed > 0 || line.unreachable > 0 || (expectChange ? line.changed === 0 : line.changed > 0);
        });
        if (r.code !== 0 || bad.length > 0) {
            throw new Error(`ansible-playbook (${expectChange ? "repair" : "converged rerun"}) exited ${r.code}; `
                + `unexpected recap on ${bad.map((h) => h.name).join(", ") || "no host"}:\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`);
        }
        return { seconds: r.ms / 1000 };
    } finally {
        // ControlPersist leaves one master connection per host behind: close ours.
        await Promise.all(fs.readdirSync(controlDir).map((sock) =>
            run(["ssh", "-F", "/dev/null", "-o", `ControlPath=${path.join(controlDir, sock)}`, "-O", "exit", "bench-control"], { timeoutMs: 10_000 })));
        fs.rmSync(work, { recursive: true, force: true });
    }
}

// --- the floor: one shell session per host -------------------------------------------------------

function floorScript(content: string): string {
    const marker = `SSHREMEDY_FLOOR_${crypto.randomBytes(6).toString("hex")}`;
    return `set -eu
f=/etc/ssh/sshd_config
new="$f.floor-new"
cat > "$new" <<'${marker}'
${content.replace(/\n$/, "")}
${marker}
if cmp -s "$new" "$f"; then rm -f "$new"; echo unchanged; exit 0; fi
cp -p "$f" "$f.$(date +%Y%m%d%H%M%S%N).bak"
/usr/sbin/sshd -t -f "$new"
chmod 0644 "$new"
mv "$new" "$f"
systemctl restart ssh.service
echo changed
`;
}

async function floorRun(hosts: readonly TestHost[], expectChange: boolean): Promise<Measure> {
    const keys = await ensureClientKeys();
    const script = floorScript(fs.readFileSync(path.join(ansibleDir, "templates", "sshd_config.j2"), "utf8"));
    const start = process.hrtime.bigint();
    const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;
    const results = await Promise.all(hosts.map(async (h) => {
        const t0 = process.hrtime.bigint();
        const session = await run(["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-i", keys.main, `root@${h.address}`, "sh -s"], { input: script });
        const sessionSec = since(t0);
        const t1 = process.hrtime.bigint();
        const login = session.code === 0 ? await sshLogin({ address: h.address, user: "alice", keys: [keys.main] }) : undefined;
        return { h, session, login, sessionSec, loginSec: since(t1) };
    }));
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const bad = results.filter((r) => r.session.code !== 0 || !r.login?.ok
        || r.session.stdout.trim() !== (expectChange ? "changed" : "unchanged"));
    if (bad.length > 0) {
        throw new Error(`floor (${expectChange ? "repair" : "converged rerun"}) failed on ${bad.length} hosts:\n`
            + bad.map((b) => `  ${b.h.name}: exit ${b.session.code}, printed ${JSON.stringify(b.session.stdout.trim())}, `
                + `${b.session.stderr.trim()} ${b.login ? `login: ${b.login.symptom.replace(/\n/g, " | ")}` : ""}`).join("\n"));
    }
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return {
        seconds: ms / 1000,
        slowestSession: round(Math.max(...results.map((r) => r.sessionSec))),
        slowestLogin: round(Math.max(...results.map((r) => r.loginSec))),
    };
}

// --- pulumi --------------------------------------------------------------------------------------

function pulumiArgv(s: TestStack, args: readonly string[]): string[] {
    return ["pulumi", ...args, "--non-interactive", "--cwd", s.projectDir, "--stack", s.stack];
}

function phasesOf(r: Timed): PulumiPhases | undefined {
    const end = r.lines.findIndex((l) => /^(Outputs|Resources):/.test(l.text));
    const body = r.lines.slice(0, end < 0 ? r.lines.length : end);
    const first = (re: RegExp) => body.find((l) => re.test(l.text))?.at;
    const stack = first(/ pulumi:pulumi:Stack /);
    const component = first(/ sshremedy:index:/);
    const step = first(/ pulumi-nodejs:dynamic\//);
    const stepLines = body.filter((l) => / pulumi-nodejs:dynamic\//.test(l.text));
    if (stack === undefined || component === undefined || step === undefined) {
        return undefined;
    }
    const last = stepLines[stepLines.length - 1].at;
    return {
        engineMs: Math.round(stack),
        programMs: Math.round(component - stack),
        probeMs: Math.round(step - component),
        stepsMs: Math.round(last - step),
        tailMs: Math.round(r.ms - last),
        reported: /^Duration:\s*(.+)$/m.exec(r.stdout)?.[1].trim(),
    };
}

/** `--logs DIR`: each Ansible and Pulumi run's output, every line stamped with when it arrived. */
let logDir: string | undefined;
/** Which repeat is running: part of the log files' names. */
let runTag = "";
/** Which tool goes first on a size's fresh hosts: the repeat's number, round the tools. */
let rotation = 0;

function keepLog(name: string, r: Timed): void {
    if (logDir) {
        fs.writeFileSync(path.join(logDir, `${runTag}${name}.log`), r.lines.map((l) => `${(l.at / 1000).toFixed(3).padStart(8)}  ${l.text}`).join("\n")
            + `\n${(r.ms / 1000).toFixed(3).padStart(8)}  [exit ${r.code}]\n${r.stderr}`);
    }
}

/** `--cpu`: each pulumi up runs with process accounting on, and its CPU is split by who spent it. */
let cpuSplit = false;

/** `pulumi up --parallel`: undefined leaves the CLI's default (4 per core). */
let pulumiParallel: number | undefined;

async function pulumiUp(s: TestStack, converged: boolean, logName: string): Promise<Measure> {
    const args = ["up", "--yes", "--skip-preview", ...(pulumiParallel ? ["--parallel", String(pulumiParallel)] : []),
        ...(converged ? ["--expect-no-changes"] : [])];
    const go = (prefix: string[] = []) => runTimed([...prefix, ...pulumiArgv(s, args)], { env: s.env });
    const { result: r, cpu } = cpuSplit ? await withAccounting(go, (t) => t.pid) : { result: await go(), cpu: undefined };
    keepLog(logName, r);
    if (r.code !== 0) {
        throw new Error(`pulumi ${args.join(" ")} on ${s.stack} exited ${r.code}${converged ? " (the converged rerun changed something?)" : ""}:\n`
            + `${r.stdout.slice(-8000)}\n${r.stderr.slice(-4000)}`);
    }
    return { seconds: r.ms / 1000, phases: phasesOf(r), ...(cpu ? { cpu } : {}) };
}

async function makeStack(entries: unknown[]): Promise<TestStack> {
    const keys = await ensureClientKeys();
    const key = fs.readFileSync(keys.main, "utf8");
    const s = await TestStack.create(project);
    await s.setConfig("sshremedy:hosts", JSON.stringify(entries));
    await s.setConfig("sshremedy:loginKey", key, true);
    await s.setConfig("sshremedy:adminKey", key, true);
    return s;
}

/** Forgets the stack without `pulumi destroy`: its hosts are about to be torn down anyway. */
async function dropStack(s: TestStack): Promise<void> {
    await run(pulumiArgv(s, ["stack", "rm", "--yes", "--force"]), { env: s.env, timeoutMs: 120_000 });
    fs.rmSync(s.stateDir, { recursive: true, force: true });
    fs.rmSync(path.join(s.projectDir, `Pulumi.${s.stack}.yaml`), { force: true });
}

function folderBytes(dir: string): number {
    let total = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        total += e.isDirectory() ? folderBytes(p) : e.isFile() ? fs.statSync(p).size : 0;
    }
    return total;
}

async function pulumiTool(hosts: readonly TestHost[], via: "ssh" | "console", stacks: TestStack[]): Promise<ToolResult> {
    const s = await makeStack(hosts.map((h) => ({
        name: h.name,
        ...(via === "ssh" ? { ssh: { user: "root" } } : { console: h.consolePrefix }),
        login: { address: h.address, user: "alice", sources: [h.peerAddress] },
    })));
    stacks.push(s);
    const repair = await pulumiUp(s, false, `${hosts.length}-pulumi-${via}-repair`);
    await requireLoginWorks(hosts, `after pulumi up (${via})`);
    await settle();
    const rerun = await pulumiUp(s, true, `${hosts.length}-pulumi-${via}-rerun`);
    await requireLoginWorks(hosts, `after the converged pulumi up (${via})`);
    const exported = await run(pulumiArgv(s, ["stack", "export"]), { env: s.env });
    if (exported.code !== 0) {
        throw new Error(`pulumi stack export: ${exported.stderr}`);
    }
    const resources = ((JSON.parse(exported.stdout) as { deployment?: { resources?: unknown[] } }).deployment?.resources ?? []).length;
    return {
        repair, rerun,
        stateBytesPerHost: Math.round(Buffer.byteLength(exported.stdout) / hosts.length),
        backendBytesPerHost: Math.round(folderBytes(s.stateDir) / hosts.length),
        resourcesPerHost: Math.round((resources / hosts.length) * 10) / 10,
    };
}

/** `pulumi up` of a stack with no host at all: the engine's and the program's fixed cost. */
async function pulumiEmpty(): Promise<Measure> {
    const s = await makeStack([]);
    try {
        return await pulumiUp(s, false, "0-pulumi-empty");
    } finally {
        await dropStack(s);
    }
}

// --- a quiet machine before each measured run -------------------------------------------------------

/** Waits until every host's systemd has finished booting (sshd answers long before that). */
async function bootFinished(hosts: readonly TestHost[]): Promise<void> {
    await Promise.all(hosts.map((h) => h.console("timeout 180 systemctl is-system-running --wait >/dev/null 2>&1; true", { timeoutMs: 200_000 })));
}

function cpuTimes(): { busy: number; total: number } {
    const fields = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = fields[3] + (fields[4] ?? 0);
    return { busy: total - idle, total };
}

/**
 * Waits until the machine is quiet (under 15 % busy for two seconds in a row, at most 90 s), so
 * one run's aftermath (a host's units, a process still exiting) is not billed to the next.
 */
async function settle(): Promise<void> {
    const deadline = Date.now() + 90_000;
    let quiet = 0;
    let last = cpuTimes();
    while (quiet < 2) {
        if (Date.now() > deadline) {
            console.log("     (the machine did not become quiet within 90 s: something else is running; the numbers may be high)");
            return;
        }
        await new Promise((r) => setTimeout(r, 1000));
        const now = cpuTimes();
        const busy = (now.busy - last.busy) / Math.max(1, now.total - last.total);
        last = now;
        quiet = busy < 0.15 ? quiet + 1 : 0;
    }
}

// --- one size ------------------------------------------------------------------------------------

async function benchSize(n: number, playbookBin: string): Promise<SizeResult> {
    console.log(`== ${n} host${n === 1 ? "" : "s"}: booting`);
    const hosts = await createHosts(n);
    const stacks: TestStack[] = [];
    try {
        await bootFinished(hosts);
        await requireLoginWorks(hosts, "freshly booted");
        const out: Partial<Record<Tool, ToolResult>> = {};
        // The first tool after boot meets colder hosts (measured: pulumi over SSH took 39-46 s at
        // 50 hosts when it went first, 30-32 s when it went after Ansible): each repeat starts
        // with the next tool, so over three repeats no tool always pays it.
        const order = tools.map((_, i) => tools[(i + rotation) % tools.length]);
        console.log(`   order: ${order.map((t) => toolLabel[t]).join(", ")}`);
        for (const tool of order) {
            await breakAll(hosts, tool);
            await settle();
            console.log(`   ${toolLabel[tool]}: repair of [S2] on ${n} host${n === 1 ? "" : "s"}, then the converged rerun`);
            if (tool === "ansible") {
                const repair = await ansibleRun(playbookBin, hosts, true);
                await requireLoginWorks(hosts, "after the Ansible repair");
                await settle();
                const rerun = await ansibleRun(playbookBin, hosts, false);
                await requireLoginWorks(hosts, "after the converged Ansible rerun");
                out[tool] = { repair, rerun };
            } else if (tool === "floor") {
                const repair = await floorRun(hosts, true);
                await requireLoginWorks(hosts, "after the floor's repair");
                await settle();
                const rerun = await floorRun(hosts, false);
                await requireLoginWorks(hosts, "after the floor's converged rerun");
                out[tool] = { repair, rerun };
            } else {
                out[tool] = await pulumiTool(hosts, tool === "pulumi-ssh" ? "ssh" : "console", stacks);
            }
            console.log(`     ${out[tool]!.repair.seconds.toFixed(2)} s, rerun ${out[tool]!.rerun.seconds.toFixed(2)} s`);
        }
        return { hosts: n, tools: out };
    } finally {
        for (const s of stacks) await dropStack(s);
        await Promise.all(hosts.map(destroyHost));
    }
}

// --- repeats ---------------------------------------------------------------------------------------

function median(xs: readonly number[]): number {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Every number of the objects, field by field, replaced by its median over the repeats. */
function medianOf<T>(items: readonly T[]): T {
    const first = items[0] as unknown;
    if (typeof first === "number") {
        return median(items as unknown as number[]) as unknown as T;
    }
    if (first === null || typeof first !== "object") {
        return items[0];
    }
    const keys = Object.keys(first as object);
    return Object.fromEntries(keys.map((k) => {
        const values = items.map((i) => (i as Record<string, unknown>)[k]).filter((v) => v !== undefined);
        return [k, values.length === items.length ? medianOf(values) : (first as Record<string, unknown>)[k]];
    })) as T;
}

/** One size's repeats as one result: the median of each number. */
function summarise(runs: readonly SizeResult[]): SizeResult {
    return {
        hosts: runs[0].hosts,
        tools: Object.fromEntries(tools.map((t) => [t, medianOf(runs.map((r) => r.tools[t]!))])),
    };
}

// --- report --------------------------------------------------------------------------------------

function printTable(results: readonly SizeResult[]): void {
    const table = new Table({
        head: ["hosts", "tool", "repair s", "× Ansible", "× floor", "rerun s", "× Ansible", "× floor", "state/host"],
        colAligns: ["right", "left", "right", "right", "right", "right", "right", "right", "right"],
        style: { head: [], border: [] },
    });
    for (const r of results) {
        for (const tool of tools) {
            const t = r.tools[tool]!;
            const ratio = (phase: "repair" | "rerun", base: Tool) => {
                const b = r.tools[base];
                return b ? (t[phase].seconds / b[phase].seconds).toFixed(2) : "–";
            };
            table.push([r.hosts, toolLabel[tool],
                t.repair.seconds.toFixed(2), ratio("repair", "ansible"), ratio("repair", "floor"),
                t.rerun.seconds.toFixed(2), ratio("rerun", "ansible"), ratio("rerun", "floor"),
                t.stateBytesPerHost !== undefined ? `${(t.stateBytesPerHost / 1024).toFixed(1)} KiB` : ""]);
        }
    }
    console.log(table.toString());
}

/** ESM-only packages (vega, vega-lite): loaded with a real import(), which CommonJS output would turn into require(). */
const dynamicImport = new Function("url", "return import(url)") as (url: string) => Promise<unknown>;
function importEsm<T>(pkg: string): Promise<T> {
    return dynamicImport(pathToFileURL(require.resolve(pkg)).href) as Promise<T>;
}

async function drawChart(results: readonly SizeResult[], subtitle: string[], file: string): Promise<void> {
    const vl = await importEsm<typeof import("vega-lite/build/index")>("vega-lite");
    const vega = await importEsm<typeof import("vega")>("vega");
    const hostsLabel = (n: number) => `${n} host${n === 1 ? "" : "s"}`;
    const hostLabels = results.map((r) => hostsLabel(r.hosts));
    const values = results.flatMap((r) => tools.flatMap((tool) => (["repair", "rerun"] as const).map((phase) => ({
        hosts: hostsLabel(r.hosts),
        tool: toolLabel[tool],
        phase: phase === "repair" ? "repair of [S2]" : "converged rerun",
        seconds: Math.round(r.tools[tool]![phase].seconds * 100) / 100,
    }))));
    const toolOrder = tools.map((t) => toolLabel[t]);
    const spec = {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: { text: "Repairing sshd on a fleet: wall time per run (seconds, lower is better)", subtitle },
        data: { values },
        facet: { column: { field: "phase", type: "nominal", title: null, sort: ["repair of [S2]", "converged rerun"] } },
        spec: {
            width: 330,
            height: 260,
            layer: [
                {
                    mark: { type: "bar" },
                    encoding: {
                        x: { field: "hosts", type: "nominal", title: null, sort: hostLabels, axis: { labelAngle: 0 } },
                        xOffset: { field: "tool", type: "nominal", sort: toolOrder },
                        y: { field: "seconds", type: "quantitative", title: "seconds" },
                        color: { field: "tool", type: "nominal", sort: toolOrder, title: null, legend: { orient: "bottom", columns: 4, labelLimit: 400 } },
                    },
                },
                {
                    mark: { type: "text", dy: -5, fontSize: 9 },
                    encoding: {
                        x: { field: "hosts", type: "nominal", sort: hostLabels },
                        xOffset: { field: "tool", type: "nominal", sort: toolOrder },
                        y: { field: "seconds", type: "quantitative" },
                        text: { field: "seconds", type: "quantitative", format: ".1f" },
                    },
                },
            ],
        },
        config: { font: "DejaVu Sans", background: "white" },
    };
    const compiled = vl.compile(spec as Parameters<typeof vl.compile>[0]).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: "none" });
    const svg = await view.toSVG();
    view.finalize();
    const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" }, fitTo: { mode: "zoom", value: 2 } }).render().asPng();
    fs.writeFileSync(file, png);
}

function chartSubtitle(machine: string, repeat: number): string[] {
    return [machine, `fault [S2] injected before each repair${repeat > 1 ? `; median of ${repeat} runs, each on fresh hosts` : ""}`];
}

/** `--redraw FILE`: the chart again from a fleet-bench.json, without running anything. */
async function redraw(jsonFile: string, png: string): Promise<void> {
    const saved = JSON.parse(fs.readFileSync(jsonFile, "utf8")) as {
        date: string; repeats?: number;
        machine: { cores: number; cpu: string; memoryGiB: number; node: string };
        results: { hosts: number; median: Partial<Record<Tool, ToolResult>> }[];
    };
    const m = saved.machine;
    tools = allTools.filter((t) => saved.results.every((r) => r.median[t] !== undefined));
    await drawChart(saved.results.map((r) => ({ hosts: r.hosts, tools: r.median })),
        chartSubtitle(`${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, ${saved.date.slice(0, 10)}`, saved.repeats ?? 1), png);
}

/** `; repair CPU 41.2 s: engine 9.1, program …` when the run was accounted. */
function cpuLine(c: CpuSplit | undefined, what: string): string {
    return c ? `; ${what} CPU ${c.total.toFixed(1)} s: this machine ${c.machine.toFixed(1)} (engine ${c.engine.toFixed(1)}, program ${c.program.toFixed(1)}, `
        + `providers ${c.providers.toFixed(1)}, ssh clients ${c.ssh.toFixed(1)}, other processes ${c.tools.toFixed(1)}), in the hosts ${c.hosts.toFixed(1)}` : "";
}

// --- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
    const { values } = parseArgs({
        options: {
            sizes: { type: "string" },
            out: { type: "string" },
            "setup-only": { type: "boolean", default: false },
            parallel: { type: "string" },
            logs: { type: "string" },
            tools: { type: "string" },
            repeat: { type: "string" },
            redraw: { type: "string" },
            cpu: { type: "boolean", default: false },
        },
    });
    if (values.redraw !== undefined) {
        const png = path.join(path.dirname(path.resolve(values.redraw)), "fleet-bench.png");
        await redraw(values.redraw, png);
        console.log(`== written: ${png}`);
        return;
    }
    const repeat = Number(values.repeat ?? defaultRepeat);
    if (!Number.isInteger(repeat) || repeat < 1) {
        throw new Error(`--repeat: give a positive whole number (got ${values.repeat})`);
    }
    if (values.tools !== undefined) {
        const asked = values.tools.split(",").map((t) => t.trim());
        const unknown = asked.filter((t) => !(allTools as readonly string[]).includes(t));
        if (unknown.length > 0 || asked.length === 0) {
            throw new Error(`--tools: give some of ${allTools.join(",")} (got ${values.tools})`);
        }
        tools = allTools.filter((t) => asked.includes(t));
    }
    if (values.logs !== undefined) {
        logDir = path.resolve(values.logs);
        fs.mkdirSync(logDir, { recursive: true });
    }
    if (values.parallel !== undefined) {
        pulumiParallel = Number(values.parallel);
        if (!Number.isInteger(pulumiParallel) || pulumiParallel < 1) {
            throw new Error(`--parallel: give a positive whole number (got ${values.parallel})`);
        }
    }
    if (values.cpu) {
        cpuSplit = true;
        await ensureAcct();
    }
    const sizes = (values.sizes ?? defaultSizes.join(",")).split(",").map((s) => Number(s.trim()));
    if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 200)) {
        throw new Error(`--sizes: give host counts separated by commas, e.g. 1,10,50 (got ${values.sizes})`);
    }
    const full = values.sizes === undefined && values.tools === undefined && values.parallel === undefined && values.repeat === undefined && !values.cpu;
    const outDir = values.out ?? (full ? path.join(project, "docs") : fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-fleet-bench-")));
    const playbookBin = await ensureAnsible();
    console.log(`== ${(await runOk([playbookBin, "--version"])).stdout.split("\n")[0]}`);
    if (values["setup-only"]) {
        return;
    }
    if (process.getuid?.() !== 0) {
        throw new Error("the fleet benchmark boots test hosts: run it as root");
    }
    const machine = {
        ...machineBasics(),
        pulumi: (await run(["pulumi", "version"])).stdout.trim(),
        ansibleCore: ansibleVersion,
    };
    const machineText = `${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}`;
    console.log(`== machine: ${machineText}`);
    let empty: Measure | undefined;
    if (tools.some((t) => t.startsWith("pulumi"))) {
        console.log("== pulumi up of a stack with no host (the fixed cost of any pulumi up)");
        await settle();
        empty = await pulumiEmpty();
        console.log(`   ${empty.seconds.toFixed(2)} s`);
    }
    const runs: SizeResult[][] = [];
    for (const n of sizes) {
        const repeats: SizeResult[] = [];
        for (let i = 0; i < repeat; i++) {
            if (repeat > 1) {
                console.log(`== ${n} host${n === 1 ? "" : "s"}, run ${i + 1} of ${repeat} (fresh hosts and stacks)`);
            }
            runTag = repeat > 1 ? `run${i + 1}-` : "";
            rotation = i;
            repeats.push(await benchSize(n, playbookBin));
        }
        runs.push(repeats);
    }
    const results = runs.map(summarise);
    if (repeat > 1) {
        console.log(`== the median of ${repeat} runs on fresh hosts:`);
    }
    printTable(results);
    for (const r of results) {
        const line = (tool: Tool) => {
            const t = r.tools[tool]!;
            const p = t.repair.phases;
            const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
            return `${toolLabel[tool]}: state ${((t.stateBytesPerHost ?? 0) / 1024).toFixed(1)} KiB/host `
                + `(backend folder with its history ${((t.backendBytesPerHost ?? 0) / 1024).toFixed(1)} KiB/host), ${t.resourcesPerHost} resources/host; `
                + `repair: ${p ? `engine ${sec(p.engineMs)}, program ${sec(p.programMs)}, probes ${sec(p.probeMs)}, steps ${sec(p.stepsMs)}, `
                    + `after ${sec(p.tailMs)}` : "phases not seen"}${cpuLine(t.repair.cpu, "repair")}${cpuLine(t.rerun.cpu, "rerun")}`;
        };
        const lines = tools.filter((t) => t.startsWith("pulumi")).map(line);
        if (lines.length > 0) {
            console.log(`${r.hosts} host${r.hosts === 1 ? "" : "s"}: ${lines.join(`\n${" ".repeat(String(r.hosts).length + 7)}`)}`);
        }
    }
    if (empty) {
        console.log(`pulumi up of a stack with no host: ${empty.seconds.toFixed(2)} s`);
    }
    fs.mkdirSync(outDir, { recursive: true });
    const json = path.join(outDir, "fleet-bench.json");
    const png = path.join(outDir, "fleet-bench.png");
    fs.writeFileSync(json, `${JSON.stringify({
        date: new Date().toISOString(),
        machine,
        fault: "S2 (DenyUsers alice appended to sshd_config, sshd restarted), injected afresh before each tool",
        tools: Object.fromEntries(tools.map((t) => [t, toolLabel[t]])),
        pulumiParallel: pulumiParallel ?? "the CLI's default",
        emptyPulumiUpSeconds: empty ? Math.round(empty.seconds * 1000) / 1000 : undefined,
        repeats: repeat,
        results: results.map((r, i) => {
            const round = (m: Measure) => ({ ...m, seconds: Math.round(m.seconds * 1000) / 1000 });
            const rounded = (x: SizeResult) => Object.fromEntries(tools.map((t) => {
                const y = x.tools[t]!;
                return [t, { ...y, repair: round(y.repair), rerun: round(y.rerun) }];
            }));
            return { hosts: r.hosts, median: rounded(r), runs: runs[i].map(rounded) };
        }),
    }, null, 2)}\n`);
    await drawChart(results, chartSubtitle(machineText, repeat), png);
    console.log(`== written: ${json}, ${png}`);
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
