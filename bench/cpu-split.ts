/**
 * Where the CPU of one `pulumi up` went, from the kernel's process accounting (BSD acct, Debian
 * package `acct`): every process that ends while accounting is on is recorded with its command
 * name, parent, and user and system time. The records are split by who ran them:
 *
 *   engine       the pulumi CLI (the engine, its checkpoints) and the language host
 *   program      the Node process that runs index.ts (declaring, probing, planning)
 *   providers    the Node process behind the dynamic resources (the host steps)
 *   ssh          OpenSSH client processes (the key exchange is most of their CPU)
 *   tools        anything else this machine ran for the run (sh, ssh-keygen, …)
 *   hosts        everything that ran inside the test hosts (sshd, the host scripts, systemctl, …)
 *
 * Processes still running when accounting stops are not recorded: callers end the run's SSH
 * master connections first (see endMasters). Accounting counts CPU in ticks of 10 ms per process,
 * so the hundreds of short processes a host script starts read as almost nothing: the totals come
 * from cgroup v2 instead (`cpu.stat`, microseconds): the run goes into a cgroup of its own (every
 * process it starts stays in it, detached SSH masters too), and each test host has its own.
 * `machine` and `hosts` are those totals; the accounted split of the machine's share is scaled
 * to add up to it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run, runOk } from "../test/harness/exec";

export interface CpuSplit {
    /** The run's cgroup: everything this machine ran for it. */
    readonly machine: number;
    readonly engine: number;
    readonly program: number;
    readonly providers: number;
    readonly ssh: number;
    readonly tools: number;
    readonly hosts: number;
    readonly total: number;
}

interface AcctRecord {
    readonly comm: string;
    readonly cpu: number;
    readonly pid: number;
    readonly ppid: number;
}

/** The records of an acct file, through `dump-acct` (times in clock ticks of 1/100 s). */
export async function readAcct(file: string): Promise<AcctRecord[]> {
    const out = (await runOk(["dump-acct", file])).stdout;
    return out.split("\n").filter((l) => l.includes("|")).map((l) => {
        const f = l.split("|").map((x) => x.trim());
        return { comm: f[0], cpu: (Number(f[2]) + Number(f[3])) / 100, pid: Number(f[9]), ppid: Number(f[10]) };
    });
}

/**
 * A Node process: the record carries the name of the thread that ended last, which is V8's task
 * scheduler thread when the main thread ended first.
 */
const nodeLike = (comm: string) => comm === "node" || comm === "DelayedTaskSche";

/** Splits the records by who ran them; `root` is the pid of the pulumi CLI of the run. */
export function splitRecords(records: readonly AcctRecord[], root: number): CpuSplit {
    const byPid = new Map(records.map((r) => [r.pid, r]));
    const under = (r: AcctRecord): boolean => {
        for (let p: AcctRecord | undefined = r, depth = 0; p && depth < 64; p = byPid.get(p.ppid), depth++) {
            if (p.pid === root) return true;
        }
        return false;
    };
    const sums = { engine: 0, program: 0, providers: 0, ssh: 0, tools: 0, hosts: 0 };
    for (const r of records) {
        const parent = byPid.get(r.ppid);
        if (r.comm === "ssh") {
            // Master connections detach from their parent: an ssh is ours wherever it ends up.
            sums.ssh += r.cpu;
        } else if (!under(r)) {
            sums.hosts += r.cpu;
        } else if (r.pid === root || r.comm.startsWith("pulumi")) {
            sums.engine += r.cpu;
        } else if (nodeLike(r.comm) && parent?.comm.startsWith("pulumi-language")) {
            sums.program += r.cpu;
        } else if (nodeLike(r.comm)) {
            sums.providers += r.cpu;
        } else {
            sums.tools += r.cpu;
        }
    }
    const round = (x: number) => Math.round(x * 100) / 100;
    const total = Object.values(sums).reduce((a, b) => a + b, 0);
    return { machine: round(total - sums.hosts), engine: round(sums.engine), program: round(sums.program), providers: round(sums.providers), ssh: round(sums.ssh),
        tools: round(sums.tools), hosts: round(sums.hosts), total: round(total) };
}

/** Installs Debian's `acct` when `accton` is missing (the benchmark runs as root). */
export async function ensureAcct(): Promise<void> {
    if ((await run(["sh", "-c", "command -v accton && command -v dump-acct"])).code === 0) return;
    console.log("== installing process accounting (Debian package acct) for --cpu");
    await runOk(["apt-get", "install", "-y", "-q", "acct"], { timeoutMs: 300_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    // The package's service turns system-wide accounting on; the benchmark switches it itself.
    await run(["accton", "off"]);
}

/**
 * Ends the SSH master connections the run left behind (connection sharing keeps them a while
 * after their last use), so that they are recorded; found by their control path.
 */
export async function endMasters(): Promise<void> {
    const tmp = os.tmpdir();
    const ours = (pid: string) => {
        try {
            const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
            return path.basename(argv[0]) === "ssh" && argv.some((a) => a.startsWith(`ControlPath=${tmp}/sshremedy-mux-`));
        } catch {
            return false;
        }
    };
    const pids = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p) && ours(p));
    for (const p of pids) {
        try { process.kill(Number(p), "SIGTERM"); } catch { /* gone already */ }
    }
    for (const until = Date.now() + 5_000; Date.now() < until && pids.some((p) => fs.existsSync(`/proc/${p}`));) {
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** The cgroup v2 hierarchy (hybrid: mounted at unified/), or undefined without one. */
function cgroup2(): string | undefined {
    return ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"].find((r) => fs.existsSync(path.join(r, "cgroup.controllers")) || fs.existsSync(path.join(r, "cgroup.procs")) && fs.existsSync(path.join(r, "cpu.stat")));
}

/** CPU seconds a cgroup and its children have used (`usage_usec` of cpu.stat). */
function usage(dir: string): number {
    try {
        const m = /^usage_usec (\d+)$/m.exec(fs.readFileSync(path.join(dir, "cpu.stat"), "utf8"));
        return m ? Number(m[1]) / 1e6 : 0;
    } catch {
        return 0;
    }
}

let runs = 0;

/**
 * Runs `body` with process accounting on and its command in a cgroup of its own: `body` gets the
 * argv prefix that puts a command there. Returns its result and where the CPU went; `root` gives
 * the pid of the run's pulumi CLI from the result.
 */
export async function withAccounting<T>(body: (prefix: string[]) => Promise<T>, root: (result: T) => number): Promise<{ result: T; cpu: CpuSplit }> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-acct-"));
    const file = path.join(tmp, "pacct");
    const v2 = cgroup2();
    const group = v2 ? path.join(v2, `sshremedy-bench-${process.pid}-${++runs}`) : undefined;
    if (group) fs.mkdirSync(group);
    const lab = v2 ? path.join(v2, "sshremedy-lab") : undefined;
    const prefix = group ? ["sh", "-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "sh", group] : [];
    fs.writeFileSync(file, "");
    await runOk(["accton", file]);
    try {
        const hostsBefore = lab ? usage(lab) : 0;
        const result = await body(prefix);
        await endMasters();
        const hosts = lab ? usage(lab) - hostsBefore : 0;
        const machine = group ? usage(group) : 0;
        await runOk(["accton", "off"]);
        const acct = splitRecords(await readAcct(file), root(result));
        if (!group) return { result, cpu: acct };
        // The long-lived processes as accounted; the rest of the run's cgroup is its short processes.
        const named = acct.engine + acct.program + acct.providers + acct.ssh;
        const round = (x: number) => Math.round(x * 100) / 100;
        return {
            result,
            cpu: { ...acct, machine: round(machine), tools: round(Math.max(0, machine - named)), hosts: round(hosts), total: round(machine + hosts) },
        };
    } finally {
        await run(["accton", "off"]);
        fs.rmSync(tmp, { recursive: true, force: true });
        if (group) {
            try { fs.rmdirSync(group); } catch { /* a process of the run is still ending: left for the machine's next boot */ }
        }
    }
}
