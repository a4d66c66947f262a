/**
 * Benchmark (not a test): how often `sshremedy diagnose` names what is actually wrong. Test hosts
 * are broken with each fault of the catalogue (DESIGN.md, S1–S15) that has an injector, and with
 * every pair of them, and `diagnose()` (components/cli/diagnose.ts, the library behind the CLI)
 * is run against each: one real login attempt from this machine, then the read-only probes
 * through the host's console. Each case is a fresh host: boot, inject, diagnose, destroy.
 *
 * S9 (SELinux enforcing, ~/.ssh mislabelled) is left out: this kernel has no SELinux, so the
 * harness has no injector for it. S9 still counts against precision should diagnose name it.
 *
 * Which login each case attempts (diagnose offers one login, with one key or one password):
 *   alice, key        S1–S4, S6–S8, S12–S15, and S11 (see below)
 *   alice, password   S5 (PasswordAuthentication no only refuses a password login)
 *   root, key         S10 (PermitRootLogin no only refuses root)
 * A pair whose two faults share a login uses it; otherwise the login of the fault whose symptom
 * needs a particular login (S5's password, S10's root), which still meets the other fault when
 * that one refuses before authentication or refuses that user too; S5 with S10 uses S5's (the
 * first). S11's harness login offers four keys, the right one last; diagnose offers one key only,
 * so its attempt is alice's key alone and S11 (MaxAuthTries 2) does not refuse it: S11 is then
 * found by the probes alone. A pair counts as "both named" when both ids are among the causes
 * (the probes see the host whatever the client meets), a single as "named first" when the first
 * cause that refuses the login (`blocking`) is the fault.
 *
 * Faults of a pair are injected in an order that lets each injector work: the sshd_config faults
 * that restart sshd and wait for it first, then S8 (it holds connections open against the running
 * sshd), then hosts.deny and the firewall, then those that stop sshd (S12, S14, S15). An injector
 * that still fails records the pair as "could not inject" with its error (after one retry on a
 * fresh host).
 *
 *   npm run bench:diagnose                      # 14 singles and 91 pairs, 6 hosts at a time
 *   npm run bench:diagnose -- --jobs 4          # fewer hosts at a time
 *   npm run bench:diagnose -- --cases S1,S2+S15 # some cases only (written to a temp folder)
 *   npm run bench:diagnose -- --singles         # the singles only (written to a temp folder)
 * Only the full run writes docs/diagnose-accuracy.json and docs/diagnose-accuracy.md; any other
 * goes to a temp folder unless --out DIR is given. Needs root (test hosts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import { parseArgs } from "util";
import Table = require("cli-table3");
import { diagnose, Diagnosis, DiagnoseLogin } from "../components/cli/diagnose";
import { FaultId, faultLogin, InjectedFault, injectFault } from "../test/harness/faults";
import { createHost, destroyHost, ensureClientKeys, TestHost } from "../test/harness/lab";
import { machineBasics } from "./machine";

const project = path.join(__dirname, "..");
/** Every fault the harness can inject (S9 cannot be on this kernel). */
const faults: readonly FaultId[] = ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S10", "S11", "S12", "S13", "S14", "S15"];
/** The catalogue's ids, S9 included: a cause named for a fault not injected counts against precision. */
const catalogueIds = ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "S12", "S13", "S14", "S15"] as const;
/** Injection order within a pair (see the header). */
const injectionOrder: readonly FaultId[] = ["S1", "S2", "S3", "S4", "S5", "S10", "S11", "S8", "S6", "S7", "S13", "S12", "S14", "S15"];
/** One case may take this long (boot, inject, diagnose) before it counts as hung. */
const caseTimeoutMs = 5 * 60_000;

type LoginKind = "alice key" | "alice password" | "root key";
const loginKindOf = (id: FaultId): LoginKind => (id === "S5" ? "alice password" : id === "S10" ? "root key" : "alice key");

/**
 * Whether a fault refuses this login at all. sshd refuses root for S1 and S3 too (AllowUsers bob,
 * AllowGroups bob) but not for S2 and S4 (DenyUsers alice, DenyGroups sshusers); S5 refuses only
 * a password, S10 only root. diagnose looks at one login: a fault that does not refuse it is not
 * its cause, so a pair whose faults no one login meets both of cannot have both named.
 */
function refuses(id: FaultId, login: LoginKind): boolean {
    switch (id) {
        case "S2": case "S4": return login !== "root key";
        case "S5": return login === "alice password";
        case "S10": return login === "root key";
        default: return true;
    }
}
const loginKinds: readonly LoginKind[] = ["alice key", "alice password", "root key"];

/** The login a case attempts, and which fault of it chose that login. */
function caseLogin(ids: readonly FaultId[]): { kind: LoginKind; from: FaultId } {
    const special = ids.find((id) => loginKindOf(id) !== "alice key");
    return special ? { kind: loginKindOf(special), from: special } : { kind: "alice key", from: ids[0] };
}

interface CaseResult {
    readonly faults: readonly FaultId[];
    readonly injectedInOrder: readonly FaultId[];
    /** Each injector's own description of what it did, in injection order. */
    readonly variants?: readonly string[];
    readonly login: LoginKind;
    /** The fault whose login this is. */
    readonly loginOf: FaultId;
    /** Undefined when the case did not get as far as diagnosing. */
    readonly attempt?: { readonly kind: string; readonly message: string };
    readonly looked?: boolean;
    /** Cause ids most likely first, as the diagnosis ranks them. */
    readonly causes?: readonly string[];
    /** The ids of the causes that refuse the login (`blocking`), in the same order. */
    readonly blocking?: readonly string[];
    readonly problems?: readonly string[];
    /** Singles: the first blocking cause is the fault. */
    readonly namedFirst?: boolean;
    /** Pairs: both ids are among the causes. */
    readonly bothNamed?: boolean;
    /** False for a pair no one login is refused by both faults of (see refuses()). */
    readonly oneLoginMeetsAll: boolean;
    /** Catalogue ids among the causes that were not injected. */
    readonly extraCauses?: readonly string[];
    /** Set when the host could not be booted or broken, or the case hung: the case is left out of the metrics. */
    readonly error?: { readonly stage: "boot" | "inject" | "diagnose" | "timeout"; readonly message: string };
    /** Tries it took (a boot or an injection that failed is tried once more on a fresh host). */
    readonly tries: number;
    readonly seconds: number;
    /** The whole diagnosis, kept for the misses. */
    readonly diagnosis?: Diagnosis;
}

function caseName(ids: readonly FaultId[]): string {
    return ids.join("+");
}

async function diagnoseLoginFor(host: TestHost, kind: LoginKind): Promise<DiagnoseLogin> {
    const keys = await ensureClientKeys();
    if (kind === "alice password") {
        const l = await faultLogin("S5");
        return { address: host.address, user: l.user, password: l.password };
    }
    return { address: host.address, user: kind === "root key" ? "root" : "alice", privateKey: fs.readFileSync(keys.main, "utf8") };
}

class Timeout extends Error {}
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([p, new Promise<T>((_, reject) => {
        timer = setTimeout(() => reject(new Timeout(`${what}: no result within ${ms / 1000} s`)), ms);
    })]).finally(() => clearTimeout(timer));
}

/** One try: a fresh host, the faults, the diagnosis; the host is destroyed whatever happens. */
async function tryCase(ids: readonly FaultId[], tries: number): Promise<CaseResult> {
    const start = Date.now();
    const order = injectionOrder.filter((id) => ids.includes(id));
    const login = caseLogin(ids);
    const base = {
        faults: ids, injectedInOrder: order, login: login.kind, loginOf: login.from, tries,
        oneLoginMeetsAll: loginKinds.some((k) => ids.every((id) => refuses(id, k))),
    };
    const seconds = () => Math.round((Date.now() - start) / 100) / 10;
    let host: TestHost | undefined;
    const injected: InjectedFault[] = [];
    let stage: "boot" | "inject" | "diagnose" = "boot";
    try {
        return await withTimeout((async (): Promise<CaseResult> => {
            host = await createHost();
            stage = "inject";
            for (const id of order) {
                try {
                    injected.push(await injectFault(host, id));
                } catch (e) {
                    throw new Error(`${id}${injected.length > 0 ? ` (after ${injected.map((f) => f.id).join(", ")})` : ""}: ${e instanceof Error ? e.message : String(e)}`);
                }
            }
            stage = "diagnose";
            const d = await diagnose({ login: await diagnoseLoginFor(host, login.kind), target: { kind: "console", prefix: host.consolePrefix } });
            const causes = d.causes.map((c) => c.id);
            const blocking = d.causes.filter((c) => c.blocking).map((c) => c.id);
            const verdict = ids.length === 1 ? { namedFirst: blocking[0] === ids[0] } : { bothNamed: ids.every((id) => causes.includes(id)) };
            return {
                ...base, variants: injected.map((f) => `${f.id}: ${f.variant}`),
                attempt: { kind: d.attempt.kind, message: d.attempt.message }, looked: d.looked,
                causes, blocking, problems: d.problems, ...verdict,
                extraCauses: causes.filter((c) => /^S\d+$/.test(c) && !(ids as readonly string[]).includes(c)),
                seconds: seconds(), diagnosis: d,
            };
        })(), caseTimeoutMs, caseName(ids));
    } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        return { ...base, variants: injected.map((f) => `${f.id}: ${f.variant}`), error: { stage: e instanceof Timeout ? "timeout" : stage, message }, seconds: seconds() };
    } finally {
        injected.forEach((f) => f.release());
        if (host) {
            await destroyHost(host).catch(() => undefined);
        }
    }
}

/** A case, tried once more on a fresh host when the boot or an injector failed (the machine is shared and busy). */
async function runCase(ids: readonly FaultId[]): Promise<CaseResult> {
    const first = await tryCase(ids, 1);
    if (first.error && (first.error.stage === "boot" || first.error.stage === "inject")) {
        const second = await tryCase(ids, 2);
        return second.error ? { ...second, error: { ...second.error, message: `${second.error.message} (first try: ${first.error.message})` } } : second;
    }
    return first;
}

/** Runs `items` through `worker`, `jobs` at a time, in order of start; results in the items' order. */
async function pool<T, R>(items: readonly T[], jobs: number, worker: (x: T, i: number) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await worker(items[i], i);
        }
    }));
    return out;
}

interface CauseMetrics {
    readonly id: string;
    /** Singles of this fault whose first blocking cause is it. */
    readonly namedFirst: { readonly hit: number; readonly of: number };
    /** Pairs with this fault in which both faults are named. */
    readonly pairsBothNamed: { readonly hit: number; readonly of: number };
    /** Cases with this fault in which it is named. */
    readonly recall: { readonly hit: number; readonly of: number };
    /** Cases in which it is named and was injected, of the cases in which it is named. */
    readonly precision: { readonly hit: number; readonly of: number };
}

function metrics(cases: readonly CaseResult[]): CauseMetrics[] {
    const done = cases.filter((c) => !c.error);
    return catalogueIds.map((id) => {
        const withFault = done.filter((c) => (c.faults as readonly string[]).includes(id));
        const named = done.filter((c) => c.causes!.includes(id));
        const singles = withFault.filter((c) => c.faults.length === 1);
        const pairs = withFault.filter((c) => c.faults.length === 2);
        return {
            id,
            namedFirst: { hit: singles.filter((c) => c.namedFirst).length, of: singles.length },
            pairsBothNamed: { hit: pairs.filter((c) => c.bothNamed).length, of: pairs.length },
            recall: { hit: withFault.filter((c) => c.causes!.includes(id)).length, of: withFault.length },
            precision: { hit: named.filter((c) => (c.faults as readonly string[]).includes(id)).length, of: named.length },
        };
    });
}

const ratio = (r: { hit: number; of: number }) => (r.of === 0 ? "–" : `${r.hit}/${r.of}`);
const percent = (r: { hit: number; of: number }) => (r.of === 0 ? "–" : `${Math.round((r.hit / r.of) * 1000) / 10} %`);

const header = ["cause", "named first (single)", "pairs: both named", "recall", "precision"];
function rows(ms: readonly CauseMetrics[]): string[][] {
    return ms.filter((m) => m.recall.of > 0 || m.precision.of > 0).map((m) => [
        m.id, ratio(m.namedFirst), ratio(m.pairsBothNamed),
        `${percent(m.recall)} (${ratio(m.recall)})`, `${percent(m.precision)} (${ratio(m.precision)})`,
    ]);
}

function printTable(ms: readonly CauseMetrics[]): void {
    const table = new Table({ head: header, colAligns: ["left", "right", "right", "right", "right"], style: { head: [], border: [] } });
    rows(ms).forEach((r) => table.push(r));
    console.log(table.toString());
}

function markdown(ms: readonly CauseMetrics[], summary: string[]): string {
    const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
    return [
        line(header),
        line(["---", "---:", "---:", "---:", "---:"]),
        ...rows(ms).map((r) => line([`[${r[0]}]`, ...r.slice(1)])),
        "",
        ...summary,
    ].join("\n");
}

async function main(): Promise<void> {
    const { values } = parseArgs({
        options: {
            jobs: { type: "string" },
            cases: { type: "string" },
            singles: { type: "boolean" },
            out: { type: "string" },
        },
    });
    if (process.getuid?.() !== 0) {
        throw new Error("the diagnose benchmark boots test hosts: run it as root");
    }
    const jobs = Number(values.jobs ?? 6);
    if (!Number.isInteger(jobs) || jobs < 1) {
        throw new Error(`--jobs: give a number of hosts at a time (got ${values.jobs})`);
    }
    const singles = faults.map((f) => [f]);
    const pairs = faults.flatMap((a, i) => faults.slice(i + 1).map((b) => [a, b]));
    let cases: FaultId[][] = values.singles ? singles : [...singles, ...pairs];
    if (values.cases) {
        cases = values.cases.split(",").map((c) => {
            const ids = c.trim().split("+") as FaultId[];
            if (ids.length < 1 || ids.length > 2 || ids.some((id) => !faults.includes(id)) || new Set(ids).size !== ids.length) {
                throw new Error(`--cases: ${c} is not one fault or two of ${faults.join(", ")}`);
            }
            return [...ids].sort((a, b) => faults.indexOf(a) - faults.indexOf(b));
        });
    }
    const full = !values.cases && !values.singles;
    const outDir = values.out ?? (full ? path.join(project, "docs") : fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-diagnose-accuracy-")));

    const machine = machineBasics();
    const date = new Date().toISOString();
    // What was measured: the commit, and the files of components/ that differ from it.
    const git = (args: string[]) => {
        try {
            return execFileSync("git", args, { cwd: project, encoding: "utf8" }).replace(/\n+$/, "");
        } catch {
            return "";
        }
    };
    const source = {
        commit: git(["rev-parse", "HEAD"]) || "unknown",
        uncommittedInComponents: git(["status", "--porcelain", "--", "components"]).split("\n").filter(Boolean).map((l) => l.slice(3)),
    };
    console.log(`== machine: ${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB, kernel ${machine.kernel}, Node ${machine.node}, ${date.slice(0, 10)}`);
    console.log(`== source: ${source.commit.slice(0, 12)}${source.uncommittedInComponents.length > 0 ? ` with ${source.uncommittedInComponents.length} file(s) of components/ uncommitted` : ""}`);
    console.log(`== ${cases.length} cases (${cases.filter((c) => c.length === 1).length} single, ${cases.filter((c) => c.length === 2).length} pairs), ${jobs} hosts at a time; S9 left out (no SELinux on this kernel)`);
    await ensureClientKeys();

    const start = Date.now();
    let finished = 0;
    const results = await pool(cases, jobs, async (ids) => {
        const r = await runCase(ids);
        finished++;
        const verdict = r.error ? `COULD NOT ${r.error.stage === "inject" ? "INJECT" : r.error.stage.toUpperCase()}: ${r.error.message.split("\n")[0].slice(0, 160)}`
            : `${r.namedFirst ?? r.bothNamed ? "ok  " : "MISS"} ${r.attempt!.kind.padEnd(20)} causes ${r.causes!.join(", ") || "(none)"}`;
        console.log(`[${String(finished).padStart(3)}/${cases.length}] ${caseName(ids).padEnd(8)} ${r.login.padEnd(14)} ${r.seconds.toFixed(1).padStart(5)} s  ${verdict}`);
        return r;
    });
    const wallSeconds = Math.round((Date.now() - start) / 100) / 10;

    const ms = metrics(results);
    const done = results.filter((r) => !r.error);
    const doneSingles = done.filter((r) => r.faults.length === 1);
    const donePairs = done.filter((r) => r.faults.length === 2);
    const notInjected = results.filter((r) => r.error);
    const disjoint = donePairs.filter((r) => !r.oneLoginMeetsAll);
    const meetable = donePairs.filter((r) => r.oneLoginMeetsAll);
    const falsePositives = done.filter((r) => r.extraCauses!.length > 0);
    const names = (rs: readonly CaseResult[]) => rs.map((r) => caseName(r.faults)).join(", ");
    const summary = [
        "Each case is a fresh test host broken with one fault or two, then `diagnose`: one real login from this machine "
            + "(alice's key; alice's password for [S5], root's key for [S10]), then the read-only probes through the host's console. "
            + "A single counts as named first when the first cause that refuses the login is the fault; a pair, when both are among the causes.",
        "",
        `Singles named first: ${doneSingles.filter((r) => r.namedFirst).length}/${doneSingles.length}; `
            + `pairs with both named: ${donePairs.filter((r) => r.bothNamed).length}/${donePairs.length}`
            + `${disjoint.length > 0 ? ` (${meetable.filter((r) => r.bothNamed).length}/${meetable.length} of the pairs one login can meet both faults of; `
                + `no one login is refused by both faults of ${names(disjoint)}, and diagnose names what refuses the login it tries)` : ""}`
            + `${notInjected.length > 0 ? `; ${notInjected.length} case${notInjected.length === 1 ? "" : "s"} could not be run (${notInjected.map((r) => caseName(r.faults)).join(", ")})` : ""}. `
            + `S9 has no injector on this kernel (no SELinux). ${machine.cores} × ${machine.cpu}, kernel ${machine.kernel}, Node ${machine.node}, ${date.slice(0, 10)}.`,
    ];
    console.log("");
    printTable(ms);
    console.log(summary[summary.length - 1]);
    const misses = done.filter((r) => r.namedFirst === false || r.bothNamed === false);
    if (misses.length > 0) {
        console.log(`misses: ${misses.map((r) => `${caseName(r.faults)} (${r.login}, ${r.attempt!.kind}: ${r.causes!.join(", ") || "no cause"})`).join("; ")}`);
    }
    if (falsePositives.length > 0) {
        console.log(`named but not injected: ${falsePositives.map((r) => `${r.extraCauses!.join(", ")} in ${caseName(r.faults)}`).join("; ")}`);
    }
    for (const r of notInjected) {
        console.log(`could not run ${caseName(r.faults)} (${r.error!.stage}): ${r.error!.message}`);
    }
    console.log(`wall time: ${wallSeconds} s for ${results.length} cases`);

    fs.mkdirSync(outDir, { recursive: true });
    const json = path.join(outDir, "diagnose-accuracy.json");
    const md = path.join(outDir, "diagnose-accuracy.md");
    fs.writeFileSync(json, `${JSON.stringify({
        date,
        machine,
        source,
        jobs,
        wallSeconds,
        excluded: { S9: "no injector: this kernel has no SELinux" },
        loginRule: "alice key for S1–S4, S6–S8, S11 (one key: diagnose offers one, so S11's MaxAuthTries 2 does not refuse it), S12–S15; "
            + "alice password for S5; root key for S10. A pair uses its faults' shared login, else the one S5 or S10 needs (S5's when both).",
        injectionOrder,
        verdicts: {
            namedFirst: "single: the first cause with blocking: true is the fault",
            bothNamed: "pair: both fault ids are among the causes",
        },
        summary: {
            singlesNamedFirst: { hit: doneSingles.filter((r) => r.namedFirst).length, of: doneSingles.length },
            pairsBothNamed: { hit: donePairs.filter((r) => r.bothNamed).length, of: donePairs.length },
            pairsOneLoginCanMeetBothNamed: { hit: meetable.filter((r) => r.bothNamed).length, of: meetable.length },
            pairsNoOneLoginMeetsBoth: disjoint.map((r) => r.faults),
            namedButNotInjected: falsePositives.map((r) => ({ faults: r.faults, named: r.extraCauses })),
            couldNotRun: notInjected.map((r) => ({ faults: r.faults, stage: r.error!.stage, message: r.error!.message })),
        },
        perCause: ms,
        // The whole diagnosis for the misses and the cases naming a fault not injected; the ids and attempt for every case.
        cases: results.map(({ diagnosis, ...r }) => (r.namedFirst === false || r.bothNamed === false || (r.extraCauses ?? []).length > 0 ? { ...r, diagnosis } : r)),
    }, null, 2)}\n`);
    const table = markdown(ms, summary);
    fs.writeFileSync(md, `${table}\n`);
    console.log(`== written: ${json}, ${md}`);
    console.log("\n== the README's table (markdown):\n");
    console.log(table);
}

main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
});
