import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { spawn } from "child_process";
import { ExecOptions, ExecResult, run, runOk, runSync } from "./exec";

/**
 * Test hosts: each is a network namespace with a veth pair and its own address, plus an
 * overlay of the cached Debian root, booted either by its own systemd (systemd-nspawn) or,
 * in the "sysv" flavour, by a plain chroot in fresh pid/mount namespaces with sshd started
 * from its SysV script. Addresses come from 198.18.0.0/15 (RFC 2544 benchmarking space),
 * one /30 per host, so no route of the machine's own is shadowed and no packet leaves it.
 */

/**
 * - `systemd`: Debian's defaults (`ssh.service`, iptables/nftables, a SysV script beside the unit);
 * - `sysv`: no systemd at all, sshd started by `/etc/init.d/ssh`;
 * - `rhel`: shaped like RHEL: the unit is `sshd.service` (no `ssh.service`, no SysV script),
 *   firewalld is the firewall, and `sshd_config.d` holds a vendor drop-in;
 * - `socket`: socket-activated like current Ubuntu: `ssh.socket` listens and starts `ssh.service`.
 * The last two are thin layers over the same Debian root, built by scripts/testroot.sh.
 */
export type Flavour = "systemd" | "sysv" | "rhel" | "socket";
export const allFlavours: readonly Flavour[] = ["systemd", "sysv", "rhel", "socket"];

const cacheDir = process.env.SSHREMEDY_CACHE ?? "/var/cache/sshremedy";
export const testRoot = path.join(cacheDir, "testroot");
/** Per-slot bookkeeping on tmpfs: gone after a reboot, exactly like the namespaces it describes. */
const runDir = "/run/sshremedy-lab";
const slotsDir = path.join(runDir, "slots");
/** Overlay upper layers live on disk: a host may write more than tmpfs should hold. */
const varDir = "/var/lib/sshremedy-lab";
const maxSlots = 32768;

export const testUsers = {
    alice: { uid: 1001, password: "alice-test-password", groups: ["alice", "sshusers", "admins", "sudo"] },
    bob: { uid: 1002, password: "bob-test-password", groups: ["bob", "sshusers"] },
    root: { uid: 0, password: "root-test-password", groups: ["root"] },
} as const;
export type TestUser = keyof typeof testUsers;

export function slotAddresses(slot: number): { peer: string; host: string } {
    const base = (198 << 24) + (18 << 16) + slot * 4;
    const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
    return { peer: dotted(base + 1), host: dotted(base + 2) };
}

function nsName(slot: number): string {
    return `srl${slot}`;
}

/** Client keys shared by all hosts of one test process: `main` is authorised, the `extra` ones are not. */
export interface ClientKeys {
    readonly dir: string;
    readonly main: string;
    readonly extra: readonly string[];
    readonly mainPublic: string;
}

let clientKeys: ClientKeys | undefined;
let clientKeysMade: Promise<ClientKeys> | undefined;
/** Made once per process; concurrent callers share the one promise. */
export function ensureClientKeys(): Promise<ClientKeys> {
    clientKeysMade ??= makeClientKeys();
    return clientKeysMade;
}

async function makeClientKeys(): Promise<ClientKeys> {
    const dir = path.join(runDir, `client-${process.pid}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const names = ["main", "extra1", "extra2", "extra3"];
    await Promise.all(names.map((n) =>
        runOk(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `sshremedy-test-${n}`, "-f", path.join(dir, n)])));
    clientKeys = {
        dir,
        main: path.join(dir, "main"),
        extra: names.slice(1).map((n) => path.join(dir, n)),
        mainPublic: fs.readFileSync(path.join(dir, "main.pub"), "utf8").trim(),
    };
    return clientKeys;
}

export class TestHost {
    constructor(
        readonly slot: number,
        readonly flavour: Flavour,
        /** The host's own address, where its sshd listens. */
        readonly address: string,
        /** The machine's end of the veth pair: the source address of every test client. */
        readonly peerAddress: string,
        /** The merged overlay: the host's file system as seen from the machine. */
        readonly root: string,
        /** pid (in the machine's pid namespace) of the host's init. */
        readonly initPid: number,
    ) {}

    get name(): string {
        return nsName(this.slot);
    }

    get netns(): string {
        return nsName(this.slot);
    }

    /**
     * argv prefix that runs a command inside the host, as its root user, in all of its namespaces:
     * the harness's stand-in for the VNC console of the guide.
     */
    get consolePrefix(): string[] {
        return ["nsenter", "-t", String(this.initPid), "-a", "-r", "-w", "--", "env", "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"];
    }

    /** Runs a shell script inside the host through its console. */
    console(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
        return run([...this.consolePrefix, "/bin/sh", "-c", script], opts);
    }

    async consoleOk(script: string, opts: ExecOptions = {}): Promise<string> {
        const r = await this.console(script, opts);
        if (r.code !== 0) {
            throw new Error(`console on ${this.name}: exit ${r.code ?? r.signal}: ${r.stderr.trim()} ${r.stdout.trim()}`);
        }
        return r.stdout;
    }

    /** Restarts sshd with the host's own service manager; resolves with what that printed. */
    restartSshd(): Promise<ExecResult> {
        // A unit that kept failing (the host was broken) has hit systemd's start limit, which
        // refuses even a good configuration until it is reset.
        return this.console(this.flavour === "sysv" ? "/etc/init.d/ssh restart"
            : `systemctl reset-failed ${this.sshdUnit} 2>/dev/null; systemctl restart ${this.sshdUnit}`);
    }

    /** The systemd unit that runs sshd (on the `sysv` flavour: the init script's name). */
    get sshdUnit(): string {
        return this.flavour === "rhel" ? "sshd.service" : this.flavour === "sysv" ? "ssh" : "ssh.service";
    }

    /** Whatever sshd's service manager recorded: the journal on systemd hosts. */
    async sshdLog(): Promise<string> {
        if (this.flavour !== "sysv") {
            return (await this.console(`journalctl -u ${this.sshdUnit} --no-pager -o cat`)).stdout;
        }
        return (await this.console("cat /var/log/sysv-ssh.log 2>/dev/null")).stdout;
    }

    /** Resolves once a TCP connection to the sshd port gets an SSH banner. */
    waitForSsh(timeoutMs = 20_000, port = 22): Promise<void> {
        return waitForBanner(this.address, port, timeoutMs);
    }
}

export function probeBanner(address: string, port: number, timeoutMs = 1_000): Promise<boolean> {
    return new Promise((resolve) => {
        const sock = net.connect({ host: address, port });
        let buf = "";
        const done = (ok: boolean) => {
            sock.destroy();
            resolve(ok);
        };
        sock.setTimeout(timeoutMs, () => done(false));
        sock.on("data", (d) => {
            buf += d.toString("latin1");
            if (buf.startsWith("SSH-")) {
                done(true);
            }
        });
        sock.on("error", () => done(false));
        sock.on("close", () => done(buf.startsWith("SSH-")));
    });
}

async function waitForBanner(address: string, port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (await probeBanner(address, port, 1_000)) {
            return;
        }
        await sleep(50);
    }
    throw new Error(`no SSH banner from ${address}:${port} within ${timeoutMs} ms`);
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

export function childPids(pid: number): number[] {
    try {
        return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
        return [];
    }
}

/**
 * True while the process runs. A zombie counts as gone: it holds no namespace, mount or memory,
 * only a table entry until its parent (here often the machine's pid 1) reaps it.
 */
export function isNamespaceInit(pid: number): boolean {
    try {
        const nspid = /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1].trim().split(/\s+/) ?? [];
        return nspid.length > 1 && nspid[nspid.length - 1] === "1";
    } catch {
        return false;
    }
}

export function pidAlive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
        return false;
    }
}

function allocateSlot(): number {
    fs.mkdirSync(slotsDir, { recursive: true });
    for (let n = 0; n < maxSlots; n++) {
        try {
            // mkdir is atomic: whoever creates the folder owns the slot, across processes.
            fs.mkdirSync(path.join(slotsDir, String(n)));
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "EEXIST") {
                continue;
            }
            throw e;
        }
        fs.writeFileSync(path.join(slotsDir, String(n), "owner"), String(process.pid));
        return n;
    }
    throw new Error("test lab: no free host slot");
}

function ensureKernelLimits(): void {
    // Many systemd hosts at once each want inotify instances; the default of 128 stops at ~20 hosts.
    const f = "/proc/sys/fs/inotify/max_user_instances";
    if (Number(fs.readFileSync(f, "utf8")) < 8192) {
        fs.writeFileSync(f, "8192");
    }
}

/** A pid the slot's bookkeeping recorded in file `f` (`init.pid`, `launcher.pid`), or 0. */
function slotPid(slot: number, f: string): number {
    try {
        return Number(fs.readFileSync(path.join(slotsDir, String(slot), f), "utf8"));
    } catch {
        return 0;
    }
}

/**
 * Tears one slot down completely, synchronously (it also runs from exit and signal handlers):
 * every process of the host, its mounts, its namespace and veth, its files.
 */
export function destroySlot(slot: number): void {
    const dir = path.join(slotsDir, String(slot));
    const ns = nsName(slot);
    const readPid = (f: string) => slotPid(slot, f);
    // Killing a pid namespace's init kills every process in that namespace with it; the
    // launcher (nspawn, unshare) then reaps it and exits by itself. Killed last if it lingers.
    const init = readPid("init.pid");
    const launcher = readPid("launcher.pid");
    kill(init);
    for (let i = 0; i < 40 && ((init > 0 && pidAlive(init)) || (launcher > 0 && pidAlive(launcher))); i++) {
        runSync(["sleep", "0.05"]);
    }
    kill(launcher);
    // Anything else still holding the network namespace (a stray client, a leaked sshd).
    const pids = runSync(["ip", "netns", "pids", ns]).stdout.trim().split(/\s+/).filter(Boolean).map(Number);
    pids.forEach(kill);
    const merged = path.join(varDir, String(slot), "root");
    for (let i = 0; i < 50 && isMounted(merged); i++) {
        if (runSync(["umount", merged]).code !== 0) {
            runSync(["sleep", "0.05"]);
        }
    }
    if (isMounted(merged)) {
        runSync(["umount", "-l", merged]);
    }
    removeCgroups(ns);
    runSync(["ip", "netns", "del", ns]);
    runSync(["ip", "link", "del", ns]);
    fs.rmSync(path.join(varDir, String(slot)), { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
}

function kill(pid: number): void {
    if (pid > 0 && pidAlive(pid)) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            /* gone in the meantime */
        }
    }
}

function isMounted(dir: string): boolean {
    return fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === dir);
}

/** Reclaims slots whose owning test process is gone (killed before it could tear down). */
export function reclaimStaleSlots(): number[] {
    if (!fs.existsSync(slotsDir)) {
        return [];
    }
    const reclaimed: number[] = [];
    for (const entry of fs.readdirSync(slotsDir)) {
        const slot = Number(entry);
        let owner = 0;
        try {
            owner = Number(fs.readFileSync(path.join(slotsDir, entry, "owner"), "utf8"));
        } catch {
            /* a slot being created right now has no owner file for a moment */
            continue;
        }
        if (owner > 0 && !pidAlive(owner)) {
            destroySlot(slot);
            reclaimed.push(slot);
        }
    }
    return reclaimed;
}

/** Slots this process created and has not torn down yet; torn down on exit or interruption. */
const liveSlots = new Set<number>();
let handlersInstalled = false;
function installExitHandlers(): void {
    if (handlersInstalled) {
        return;
    }
    handlersInstalled = true;
    const teardownAll = () => {
        for (const s of [...liveSlots]) {
            destroySlot(s);
            liveSlots.delete(s);
        }
        if (clientKeys) {
            fs.rmSync(clientKeys.dir, { recursive: true, force: true });
        }
    };
    process.on("exit", teardownAll);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(sig, () => {
            teardownAll();
            process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1));
        });
    }
}

export interface HostOptions {
    readonly flavour?: Flavour;
}

/** Creates one test host, booted and answering SSH with the client's main key authorised. */
export async function createHost(opts: HostOptions = {}): Promise<TestHost> {
    const flavour = opts.flavour ?? "systemd";
    if (!fs.existsSync(path.join(testRoot, ".sshremedy-prep"))) {
        throw new Error(`test root missing at ${testRoot}: run scripts/testroot.sh (npm run toolchain does)`);
    }
    if (!handlersInstalled) {
        // First host of this process: take back hosts of earlier runs that were killed outright.
        reclaimStaleSlots();
    }
    installExitHandlers();
    ensureKernelLimits();
    const keys = await ensureClientKeys();
    const slot = allocateSlot();
    liveSlots.add(slot);
    try {
        return await bootSlot(slot, flavour, keys);
    } catch (e) {
        destroySlot(slot);
        liveSlots.delete(slot);
        throw e;
    }
}

export async function destroyHost(host: TestHost): Promise<void> {
    // Only a slot this process still holds: destroying the same host twice (a test's own call,
    // then its hook) must not tear down what another test process has booted in the slot since.
    if (!liveSlots.has(host.slot)) {
        return;
    }
    destroySlot(host.slot);
    liveSlots.delete(host.slot);
}

/** Creates several hosts in parallel. */
export function createHosts(count: number, opts: HostOptions = {}): Promise<TestHost[]> {
    return Promise.all(Array.from({ length: count }, () => createHost(opts)));
}

async function bootSlot(slot: number, flavour: Flavour, keys: ClientKeys): Promise<TestHost> {
    const ns = nsName(slot);
    const { peer, host } = slotAddresses(slot);
    const slotDir = path.join(slotsDir, String(slot));
    const base = path.join(varDir, String(slot));
    const merged = path.join(base, "root");
    for (const d of ["upper", "work", "root"]) {
        fs.mkdirSync(path.join(base, d), { recursive: true });
    }
    const layer = flavourLayer(flavour);
    await runOk(["mount", "-t", "overlay", "overlay", "-o",
        `lowerdir=${layer ? `${layer}:` : ""}${testRoot},upperdir=${base}/upper,workdir=${base}/work`, merged]);

    await runOk(["ip", "netns", "add", ns]);
    await runOk(["ip", "link", "add", ns, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await runOk(["ip", "addr", "add", `${peer}/30`, "dev", ns]);
    await runOk(["ip", "link", "set", ns, "up"]);
    await runOk(["ip", "-n", ns, "addr", "add", `${host}/30`, "dev", "eth0"]);
    await runOk(["ip", "-n", ns, "link", "set", "eth0", "up"]);
    await runOk(["ip", "-n", ns, "link", "set", "lo", "up"]);
    await runOk(["ip", "-n", ns, "route", "add", "default", "via", peer]);

    layIdentity(merged, ns, host, peer, keys);
    await runOk(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `root@${ns}`,
        "-f", path.join(merged, "etc/ssh/ssh_host_ed25519_key")]);

    const log = fs.openSync(path.join(slotDir, "boot.log"), "a");
    const argv = flavour !== "sysv"
        ? ["/bin/sh", "-c", ownCgroupScript(ns), "sh", "systemd-nspawn", "--boot", "--register=no", "--keep-unit", "--console=read-only", "--resolv-conf=off",
            // A VM's services may manage their own firewall (fail2ban does): keep CAP_NET_ADMIN.
            "--capability=CAP_NET_ADMIN",
            `--network-namespace-path=/run/netns/${ns}`, "-D", merged, "-M", ns]
        : ["ip", "netns", "exec", ns, "unshare", "--mount", "--pid", "--fork", "--uts", "--propagation", "private",
            "--", "/bin/sh", "-eu", "-c", sysvBootScript(merged, ns)];
    const launcher = spawn(argv[0], argv.slice(1), { detached: true, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    launcher.unref();
    const launcherPid = launcher.pid;
    if (!launcherPid) {
        throw new Error(`could not start ${argv[0]}`);
    }
    fs.writeFileSync(path.join(slotDir, "launcher.pid"), String(launcherPid));
    fs.writeFileSync(path.join(slotDir, "launcher.argv"), JSON.stringify(argv));

    let initPid = 0;
    const deadline = Date.now() + 20_000;
    while (!initPid && Date.now() < deadline) {
        // nspawn forks a short-lived helper before the container's init: the init is the child
        // that is pid 1 of its own pid namespace.
        initPid = childPids(launcherPid).find(isNamespaceInit) ?? 0;
        if (!initPid) {
            if (!pidAlive(launcherPid)) {
                throw new Error(`${argv[0]} for ${ns} exited at boot: ${fs.readFileSync(path.join(slotDir, "boot.log"), "utf8")}`);
            }
            await sleep(20);
        }
    }
    if (!initPid) {
        throw new Error(`host ${ns}: no init process after 20 s`);
    }
    fs.writeFileSync(path.join(slotDir, "init.pid"), String(initPid));
    const h = new TestHost(slot, flavour, host, peer, merged, initPid);
    await h.waitForSsh();
    if (flavour === "rhel") {
        // firewalld loads its zones a moment after sshd answers: a fault injected before that
        // would be overwritten by the zone's own rules.
        await h.consoleOk("i=0; until firewall-cmd --state >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done");
    }
    return h;
}

/** The flavour's layer above the Debian root, if it has one. */
function flavourLayer(flavour: Flavour): string | undefined {
    if (flavour !== "rhel" && flavour !== "socket") {
        return undefined;
    }
    const layer = `${testRoot}-${flavour}`;
    if (!fs.existsSync(path.join(layer, ".sshremedy-layer"))) {
        throw new Error(`test root layer for flavour ${flavour} missing at ${layer}: run scripts/testroot.sh (npm run toolchain does)`);
    }
    return layer;
}

/**
 * Each container's systemd gets a cgroup of its own. With cgroup v1 (this machine's), nspawn with
 * --keep-unit puts the container in its caller's cgroup: containers started from one process
 * would all create and delete the same `system.slice/...` folders, and their units fail at random
 * ("Failed to attach to cgroup"). The launcher moves itself first, then execs nspawn.
 */
const cgroupHierarchies = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"];
export function ownCgroupScript(ns: string): string {
    return `for h in ${cgroupHierarchies.join(" ")}; do
  [ -e "$h/cgroup.procs" ] || continue
  d="$h/sshremedy-lab/${ns}"; mkdir -p "$d" && echo $$ > "$d/cgroup.procs"
done
exec "$@"`;
}

/** Removes a slot's cgroups, deepest first, once its processes are gone. */
function removeCgroups(ns: string): void {
    for (const h of cgroupHierarchies) {
        const d = path.join(h, "sshremedy-lab", ns);
        if (fs.existsSync(d)) {
            runSync(["find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"]);
        }
    }
}

function sysvBootScript(merged: string, name: string): string {
    // Runs as pid 1 of fresh pid and mount namespaces: the mounts vanish with it, and killing
    // it takes every process of the host along. No /run/systemd, so Debian's init scripts and
    // `service` use SysV paths, as on a host without systemd.
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    return [
        `R=${q(merged)}`,
        'mount -t proc proc "$R/proc"',
        'mount --rbind /dev "$R/dev"',
        'mount -t tmpfs -o mode=755 tmpfs "$R/run"',
        `hostname ${q(name)}`,
        // Of the rcS scripts, only those sshremedy installs run (its boot revert, before sshd):
        // the others (hwclock, procps) would act on the machine itself from inside the chroot.
        `exec chroot "$R" /bin/sh -c 'mkdir -p /run/sshd; for s in /etc/rcS.d/S*sshremedy*; do [ -x "$s" ] && "$s" start >>/var/log/sysv-boot.log 2>&1; done; /etc/init.d/ssh start >>/var/log/sysv-ssh.log 2>&1 || true; exec sleep infinity'`,
    ].join("\n");
}

/** Writes the per-host identity into the overlay before boot: name, address, authorised keys. */
function layIdentity(merged: string, name: string, address: string, peer: string, keys: ClientKeys): void {
    fs.writeFileSync(path.join(merged, "etc/hostname"), `${name}\n`);
    // The machine's address resolves locally and no name server is configured: hosts_access(5)
    // looks names up, and a lookup that waits on a network we do not have stalls every login.
    fs.writeFileSync(path.join(merged, "etc/hosts"), `127.0.0.1 localhost\n${address} ${name}\n${peer} lab-machine\n`);
    fs.writeFileSync(path.join(merged, "etc/resolv.conf"), "# no name server in the test lab\n");
    for (const [user, info] of Object.entries(testUsers)) {
        const home = user === "root" ? path.join(merged, "root") : path.join(merged, "home", user);
        const sshDir = path.join(home, ".ssh");
        fs.mkdirSync(sshDir, { recursive: true, mode: 0o700 });
        const ak = path.join(sshDir, "authorized_keys");
        fs.writeFileSync(ak, `${keys.mainPublic}\n`, { mode: 0o600 });
        fs.chownSync(sshDir, info.uid, info.uid);
        fs.chownSync(ak, info.uid, info.uid);
    }
}

// --- Power off and on again (the Tencent emulator's StopInstances and StartInstances) -------------

/** The overlay's upper layer: everything the host wrote over its root, i.e. its disk. */
export function upperDir(host: TestHost): string {
    return path.join(varDir, String(host.slot), "upper");
}

/**
 * Powers a host off like a stopped VM: every process of it ends and its overlay is unmounted,
 * while the slot, the upper layer and the network namespace stay for startHost. With `graceMs`, a
 * host with systemd is first asked to power off (SIGRTMIN+4, what `machinectl poweroff` sends).
 */
export async function stopHost(host: TestHost, opts: { graceMs?: number } = {}): Promise<void> {
    const dir = path.join(slotsDir, String(host.slot));
    const readPid = (f: string) => slotPid(host.slot, f);
    const init = readPid("init.pid");
    const launcher = readPid("launcher.pid");
    const options = overlayOptions(host.root);
    if (options) {
        fs.writeFileSync(path.join(dir, "overlay.options"), options);
    }
    const gone = () => !(init > 0 && pidAlive(init)) && !(launcher > 0 && pidAlive(launcher));
    const waitGone = async (ms: number) => {
        for (const end = Date.now() + ms; !gone() && Date.now() < end;) {
            await sleep(50);
        }
    };
    if (opts.graceMs && host.flavour !== "sysv" && init > 0 && pidAlive(init)) {
        await run(["kill", "-s", "RTMIN+4", String(init)]);
        await waitGone(opts.graceMs);
    }
    kill(init);
    await waitGone(2_000);
    kill(launcher);
    await waitGone(2_000);
    // Whatever else still runs in the host's network namespace was running on the host.
    runSync(["ip", "netns", "pids", host.netns]).stdout.trim().split(/\s+/).filter(Boolean).map(Number).forEach(kill);
    // A power-off loses what only the running kernel held: the host's firewall rules (its own; the
    // emulator's security groups are in the machine's namespace). Its boot loads what it persisted.
    runSync(["ip", "netns", "exec", host.netns, "nft", "flush", "ruleset"]);
    for (const legacy of ["iptables-legacy", "ip6tables-legacy"]) {
        for (const table of ["filter", "nat", "mangle", "raw"]) {
            runSync(["ip", "netns", "exec", host.netns, legacy, "-t", table, "-F"]);
            runSync(["ip", "netns", "exec", host.netns, legacy, "-t", table, "-X"]);
        }
    }
    fs.rmSync(path.join(dir, "init.pid"), { force: true });
    fs.rmSync(path.join(dir, "launcher.pid"), { force: true });
    for (let i = 0; i < 50 && isMounted(host.root); i++) {
        if ((await run(["umount", host.root])).code !== 0) {
            await sleep(50);
        }
    }
    if (isMounted(host.root)) {
        throw new Error(`host ${host.name}: overlay still mounted after power-off`);
    }
}

/**
 * Boots a host stopped by stopHost again, from the same slot, disk and network namespace.
 * Resolves once its init runs (not once sshd answers: a host may well boot without a working sshd).
 */
export async function startHost(host: TestHost): Promise<TestHost> {
    const dir = path.join(slotsDir, String(host.slot));
    const argv = JSON.parse(fs.readFileSync(path.join(dir, "launcher.argv"), "utf8")) as string[];
    if (!isMounted(host.root)) {
        await runOk(["mount", "-t", "overlay", "overlay", "-o", fs.readFileSync(path.join(dir, "overlay.options"), "utf8"), host.root]);
    }
    const log = fs.openSync(path.join(dir, "boot.log"), "a");
    const launcher = spawn(argv[0], argv.slice(1), { detached: true, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    launcher.unref();
    const launcherPid = launcher.pid;
    if (!launcherPid) {
        throw new Error(`could not start ${argv[0]}`);
    }
    fs.writeFileSync(path.join(dir, "launcher.pid"), String(launcherPid));
    let initPid = 0;
    for (const end = Date.now() + 20_000; !initPid && Date.now() < end;) {
        initPid = childPids(launcherPid).find(isNamespaceInit) ?? 0;
        if (!initPid) {
            if (!pidAlive(launcherPid)) {
                throw new Error(`${argv[0]} for ${host.name} exited at boot: ${fs.readFileSync(path.join(dir, "boot.log"), "utf8")}`);
            }
            await sleep(20);
        }
    }
    if (!initPid) {
        throw new Error(`host ${host.name}: no init process after 20 s`);
    }
    fs.writeFileSync(path.join(dir, "init.pid"), String(initPid));
    return new TestHost(host.slot, host.flavour, host.address, host.peerAddress, host.root, initPid);
}

/** The lowerdir, upperdir and workdir options of the overlay mounted at `dir`, if it is. */
function overlayOptions(dir: string): string | undefined {
    const line = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === dir);
    const superOptions = line?.split(" - ")[1]?.split(" ")[2] ?? "";
    const keep = superOptions.split(",").filter((o) => /^(lowerdir|upperdir|workdir)=/.test(o));
    return keep.length === 3 ? keep.join(",") : undefined;
}

/**
 * Mounts a stopped host's disk (its overlay) at `host.root`, as startHost would before booting;
 * a no-op when it is mounted. For the emulator's rescue mode, which reads and writes the disk of a
 * powered-off host.
 */
export async function mountStoppedDisk(host: TestHost): Promise<void> {
    if (!isMounted(host.root)) {
        const options = fs.readFileSync(path.join(slotsDir, String(host.slot), "overlay.options"), "utf8");
        await runOk(["mount", "-t", "overlay", "overlay", "-o", options, host.root]);
    }
}

/** Unmounts what mountStoppedDisk mounted (the host must be powered off). */
export async function unmountStoppedDisk(host: TestHost): Promise<void> {
    for (let i = 0; i < 50 && isMounted(host.root); i++) {
        if ((await run(["umount", host.root])).code !== 0) {
            await sleep(50);
        }
    }
    if (isMounted(host.root)) {
        throw new Error(`host ${host.name}: disk still mounted`);
    }
}
