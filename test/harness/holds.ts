import * as fs from "fs";
import * as path from "path";
import { TestHost, sleep } from "./lab";

/**
 * A hold stops a host at one exact point of a run, so a test can act there (kill the runner,
 * drop the link, reboot): a wrapper named like one host command, put ahead of it on every user's
 * PATH (/usr/local/bin), waits the first time it is called while a condition holds, then runs the
 * real command. Nothing in the project knows about it: the host simply has a slow command.
 * Its files live on the host's disk (/var/lib/sr-hold), which the machine sees in `host.root`.
 */
export interface Hold {
    /** Resolves once the host is held at the point (and says which process waits there). */
    reached(timeoutMs?: number): Promise<number>;
    /** Lets the held command go on; later calls pass straight through. */
    release(): Promise<void>;
    /** Removes the wrapper (a held command still waits until released or killed). */
    remove(): Promise<void>;
    /** True while the held process is alive and still waiting. */
    waiting(): boolean;
}

const holdDir = "/var/lib/sr-hold";

/**
 * Holds `command` the first time it runs with `when` true. `when` is shell, run with the
 * command's own arguments as "$@", e.g. `[ "$1" = restart ]`.
 */
export async function installHold(host: TestHost, command: string, when: string): Promise<Hold> {
    const [real, mv, nap] = (await host.consoleOk(`PATH=/usr/sbin:/usr/bin:/sbin:/bin; for c in ${command} mv sleep; do command -v "$c"; done`)).trim().split("\n");
    if (![real, mv, nap].every((p) => p?.startsWith("/"))) {
        throw new Error(`hold: no ${command} on ${host.name}`);
    }
    const wrapper = `#!/bin/sh
# test hold on ${command}: waits the first time it is called while the condition holds
h=${holdDir}
if [ -e "$h/armed" ] && { ${when} ; } 2>/dev/null && ${mv} "$h/armed" "$h/hit.$$" 2>/dev/null; then
    while [ -e "$h/hit.$$" ]; do ${nap} 0.05; done
fi
exec ${real} "$@"
`;
    const dir = path.join(host.root, holdDir.slice(1));
    fs.mkdirSync(dir, { recursive: true });
    // Any user's process may be the one held (the verifying login's): it renames `armed` there.
    fs.chmodSync(dir, 0o777);
    for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { force: true });
    const file = path.join(host.root, "usr/local/bin", command);
    fs.writeFileSync(file, wrapper, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "armed"), "");
    const hits = () => fs.readdirSync(dir).filter((f) => f.startsWith("hit.")).map((f) => Number(f.slice(4)));
    return {
        async reached(timeoutMs = 120_000) {
            for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(10)) {
                const h = hits();
                if (h.length > 0) return h[0];
            }
            throw new Error(`the run never reached the hold on ${command} (${when})`);
        },
        async release() {
            fs.rmSync(path.join(dir, "armed"), { force: true });
            for (const h of hits()) fs.rmSync(path.join(dir, `hit.${h}`), { force: true });
        },
        async remove() {
            fs.rmSync(file, { force: true });
        },
        waiting() {
            const h = hits();
            return h.length > 0;
        },
    };
}

/** Every process under `pid` (its children, theirs, …), from /proc. */
export function descendants(pid: number): number[] {
    const parent = new Map<number, number>();
    for (const e of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(e)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
            parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
        } catch { /* gone */ }
    }
    const out: number[] = [];
    const walk = (p: number) => {
        for (const [c, pp] of parent) {
            if (pp === p) {
                out.push(c);
                walk(c);
            }
        }
    };
    walk(pid);
    return out;
}

/**
 * SIGKILL to a `pulumi` process and everything it started: the language host, the providers, the
 * SSH clients, and the run's shared SSH connection (its master leaves the tree when it detaches,
 * so it is found by the run's control folder). Each is stopped first, so none can start another.
 */
export function killRun(pulumiPid: number): number {
    let start = "";
    try {
        const stat = fs.readFileSync(`/proc/${pulumiPid}/stat`, "utf8");
        start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    } catch { /* already gone */ }
    const mux = `sshremedy-mux-${process.getuid!()}-run-${pulumiPid}-${start}`;
    const victims = new Set([pulumiPid, ...descendants(pulumiPid)]);
    for (const e of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(e)) continue;
        try {
            if (start && fs.readFileSync(`/proc/${e}/cmdline`, "utf8").includes(mux)) victims.add(Number(e));
        } catch { /* gone */ }
    }
    for (const p of victims) {
        try { process.kill(p, "SIGSTOP"); } catch { /* gone */ }
    }
    for (const p of victims) {
        try { process.kill(p, "SIGKILL"); } catch { /* gone */ }
    }
    return victims.size;
}

/** A hold's condition: a dead-man is armed on the host (the change is under way). */
export const deadmanArmed = "ls /run/sshremedy/deadman-* >/dev/null 2>&1";

/** A hold's condition: a dead-man is armed and sshd runs with another pid than `origPid` (it restarted on the new files). */
export function afterSshdRestart(origPid: string): string {
    return `${deadmanArmed} && [ "$(cat /run/sshd.pid 2>/dev/null)" != ${origPid} ]`;
}

/** A hold's condition for the service manager's command: a dead-man is armed and it is asked to restart. */
export const sshdRestarting = `${deadmanArmed} && [ "$1" = restart ]`;

/** MaxAuthTries as sshd applies it to alice's login: the value the tests' declarations change. */
export async function effectiveMaxAuthTries(h: TestHost): Promise<string> {
    return (await h.consoleOk("sshd -T -C user=alice,host=x,addr=198.18.0.1 | sed -n 's/^maxauthtries //p'")).trim();
}
