import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { run, runOk, runSync } from "../harness/exec";
import {
    childPids, isNamespaceInit, mountStoppedDisk, ownCgroupScript, pidAlive, probeBanner, sleep, TestHost, testRoot, unmountStoppedDisk,
} from "../harness/lab";

/**
 * CVM rescue mode on a lab host (EnterRescueMode / ExitRescueMode).
 *
 * While the instance's own host is powered off, a rescue host boots in its slot's network
 * namespace (so at the instance's address): a fresh system from the test root on a throw-away
 * overlay, whose `Username` has the given password and may log in over SSH with it (root too).
 * The instance's system disk is attached to it as the block device /dev/vdb, not mounted: an ext4
 * image built from the stopped instance's file system, behind a loop device. On exit the rescue
 * host is powered off and the image's content is written back into the instance's file system with
 * rsync (only what differs is written, so the overlay's upper layer only grows by what changed).
 */

export interface RescueOptions {
    readonly password: string;
    readonly username: string;
    /** A folder of the emulator's own where the image and the rescue system's overlay live. */
    readonly workDir: string;
}

/** Not part of the instance's disk: the same directories the kernel or the rescue tool owns. */
const writeBackExcludes = ["/proc", "/sys", "/dev", "/run", "/lost+found"];

export class RescueSystem {
    private launcherPid = 0;
    private initPid = 0;

    private constructor(
        readonly host: TestHost,
        readonly workDir: string,
        readonly image: string,
        readonly loopDevice: string,
    ) {}

    get hostname(): string {
        return `${this.host.name}-rescue`;
    }

    /**
     * Attaches the stopped host's disk as an image and boots the rescue host at its address.
     * Resolves once the rescue system's sshd answers.
     */
    static async boot(host: TestHost, opts: RescueOptions): Promise<RescueSystem> {
        for (const tool of ["mke2fs", "losetup", "rsync", "chpasswd"]) {
            if ((await run(["sh", "-c", `command -v ${tool}`])).code !== 0) {
                throw new Error(`rescue mode needs ${tool} on this machine (rsync: apt-get install rsync)`);
            }
        }
        const work = opts.workDir;
        fs.rmSync(work, { recursive: true, force: true });
        fs.mkdirSync(work, { recursive: true, mode: 0o700 });
        for (const d of ["upper", "work", "root"]) {
            // The upper layer's own mode is the rescue system's `/`: readable for its non-root user.
            fs.mkdirSync(path.join(work, d), { mode: 0o755 });
        }
        const image = path.join(work, "system-disk.img");
        // The instance's file system as it is while stopped: its overlay, mounted as startHost would.
        await mountStoppedDisk(host);
        try {
            const used = Number((await runOk(["du", "-sxb", host.root])).stdout.split(/\s/)[0]);
            const inodes = Number((await runOk(["du", "-sx", "--inodes", host.root])).stdout.split(/\s/)[0]);
            // Used space plus a margin the rescue system can write into; the file is sparse.
            const sizeMb = Math.ceil((used * 1.25) / 2 ** 20) + 256;
            await runOk(["truncate", "-s", `${sizeMb}M`, image]);
            // 256-byte inodes, as on a real system disk (mke2fs's "small" type would take 128: no
            // times past 2038). mke2fs -d copies times to the second only: see writeBack.
            await runOk(["mke2fs", "-q", "-F", "-t", "ext4", "-I", "256", "-L", "system", "-N", String(Math.ceil(inodes * 1.5) + 16_384),
                "-d", host.root, image], { timeoutMs: 120_000 });
        } finally {
            await unmountStoppedDisk(host);
        }
        const loopDevice = (await runOk(["losetup", "--find", "--show", image])).stdout.trim();
        const r = new RescueSystem(host, work, image, loopDevice);
        try {
            await r.prepareRoot(opts);
            await r.launch();
            await r.waitForSsh(30_000);
        } catch (e) {
            r.abandonSync();
            throw e;
        }
        return r;
    }

    /** The rescue system's own files: identity, host key, sshd allowing password logins, the password. */
    private async prepareRoot(opts: RescueOptions): Promise<void> {
        const root = path.join(this.workDir, "root");
        await runOk(["mount", "-t", "overlay", "overlay", "-o", this.overlayOptions(), root]);
        try {
            const w = (rel: string, text: string, mode = 0o644) => {
                fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
                fs.writeFileSync(path.join(root, rel), text, { mode });
            };
            w("etc/hostname", `${this.hostname}\n`);
            w("etc/hosts", `127.0.0.1 localhost\n${this.host.address} ${this.hostname}\n${this.host.peerAddress} lab-machine\n`);
            w("etc/resolv.conf", "# no name server in the test lab\n");
            w("etc/tencent-rescue-mode", `rescue system of ${this.host.name}; the system disk is /dev/vdb\n`);
            // First match wins in sshd_config, and the Include is at the top of Debian's file.
            w("etc/ssh/sshd_config.d/00-rescue.conf", "PermitRootLogin yes\nPasswordAuthentication yes\n");
            await runOk(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `root@${this.hostname}`,
                "-f", path.join(root, "etc/ssh/ssh_host_ed25519_key")]);
            if (opts.username !== "root") {
                await runOk(["useradd", "-R", root, "-m", "-s", "/bin/bash", opts.username]);
            }
            await runOk(["chpasswd", "-R", root], { input: `${opts.username}:${opts.password}\n` });
        } finally {
            await runOk(["umount", root]);
        }
    }

    private overlayOptions(): string {
        return `lowerdir=${testRoot},upperdir=${path.join(this.workDir, "upper")},workdir=${path.join(this.workDir, "work")}`;
    }

    /**
     * Boots the rescue host. Its root is mounted in a mount namespace of its launcher's own, so it
     * goes away with the launcher whatever ends it (a lab teardown kills everything in the network
     * namespace). The disk's loop device is bound in as /dev/vdb.
     */
    private async launch(): Promise<void> {
        const ns = this.host.netns;
        const root = path.join(this.workDir, "root");
        const argv = ["/bin/sh", "-c", ownCgroupScript(ns), "sh",
            "unshare", "--mount", "--propagation", "private", "--",
            "/bin/sh", "-c", 'mount -t overlay overlay -o "$1" "$2" || exit 1; shift 2; exec "$@"', "sh", this.overlayOptions(), root,
            "systemd-nspawn", "--boot", "--register=no", "--keep-unit", "--console=read-only", "--resolv-conf=off",
            // Root on a rescue VM may manage network namespaces and firewalls, as on the instance.
            "--capability=CAP_NET_ADMIN",
            `--bind=${this.loopDevice}:/dev/vdb`, `--network-namespace-path=/run/netns/${ns}`, "-D", root, "-M", this.hostname];
        const logPath = path.join(this.workDir, "boot.log");
        const log = fs.openSync(logPath, "a");
        const launcher = spawn(argv[0], argv.slice(1), { detached: true, stdio: ["ignore", log, log] });
        fs.closeSync(log);
        launcher.unref();
        if (!launcher.pid) {
            throw new Error("could not start the rescue host");
        }
        this.launcherPid = launcher.pid;
        for (const end = Date.now() + 20_000; !this.initPid && Date.now() < end;) {
            this.initPid = childPids(this.launcherPid).find(isNamespaceInit) ?? 0;
            if (!this.initPid) {
                if (!pidAlive(this.launcherPid)) {
                    throw new Error(`rescue host of ${this.host.name} exited at boot: ${fs.readFileSync(logPath, "utf8")}`);
                }
                await sleep(20);
            }
        }
        if (!this.initPid) {
            throw new Error(`rescue host of ${this.host.name}: no init process after 20 s`);
        }
    }

    private async waitForSsh(timeoutMs: number): Promise<void> {
        for (const end = Date.now() + timeoutMs; Date.now() < end;) {
            if (await probeBanner(this.host.address, 22, 1_000)) {
                return;
            }
            if (!pidAlive(this.launcherPid)) {
                throw new Error(`rescue host of ${this.host.name} died: ${fs.readFileSync(path.join(this.workDir, "boot.log"), "utf8")}`);
            }
            await sleep(50);
        }
        throw new Error(`rescue host of ${this.host.name}: no SSH banner within ${timeoutMs} ms`);
    }

    /** argv prefix of a root shell inside the rescue system (for tests). */
    get consolePrefix(): string[] {
        return ["nsenter", "-t", String(this.initPid), "-a", "-r", "-w", "--", "env", "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"];
    }

    /** Powers the rescue host off: asked first (its systemd unmounts /dev/vdb if it is mounted), then killed. */
    async powerOff(graceMs: number): Promise<void> {
        const gone = () => !pidAlive(this.initPid) && !pidAlive(this.launcherPid);
        const waitGone = async (ms: number) => {
            for (const end = Date.now() + ms; !gone() && Date.now() < end;) {
                await sleep(50);
            }
        };
        if (graceMs > 0 && pidAlive(this.initPid)) {
            await run(["kill", "-s", "RTMIN+4", String(this.initPid)]);
            await waitGone(graceMs);
        }
        this.killAllSync();
        await waitGone(2_000);
        if (!gone()) {
            throw new Error(`rescue host of ${this.host.name} would not power off`);
        }
    }

    private killAllSync(): void {
        for (const pid of [this.initPid, this.launcherPid]) {
            if (pid > 0 && pidAlive(pid)) {
                try {
                    process.kill(pid, "SIGKILL");
                } catch {
                    /* gone meanwhile */
                }
            }
        }
        runSync(["ip", "netns", "pids", this.host.netns]).stdout.trim().split(/\s+/).filter(Boolean).map(Number).forEach((pid) => {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                /* gone meanwhile */
            }
        });
    }

    /**
     * With the rescue host off: writes the disk image's content back into the instance's file
     * system and detaches the disk. The instance's overlay is left mounted, ready for startHost.
     */
    async writeBack(): Promise<void> {
        const mnt = path.join(this.workDir, "disk");
        fs.mkdirSync(mnt, { recursive: true });
        // Read-write: a journal the rescue system left dirty is replayed.
        await runOk(["mount", "-t", "ext4", this.loopDevice, mnt]);
        try {
            await mountStoppedDisk(this.host);
            // Only what differs is written, so unchanged files stay in the overlay's lower layer.
            // Two passes, because mke2fs -d keeps times to the second only (it drops nanoseconds)
            // and rsync --checksum re-stamps every file whose time differs at all, even inside a
            // --modify-window. First the content, compared by checksum, with deletions, owners,
            // modes, hard links, ACLs and xattrs; then the times of what the first pass wrote (a
            // quick check within one second: unchanged files differ by a fraction of one).
            const excludes = writeBackExcludes.map((e) => `--exclude=${e}`);
            await runOk(["rsync", "-aHAX", "--no-times", "--numeric-ids", "--checksum", "--delete", ...excludes,
                `${mnt}/`, `${this.host.root}/`], { timeoutMs: 300_000 });
            await runOk(["rsync", "-aHAX", "--numeric-ids", "--modify-window=1", ...excludes,
                `${mnt}/`, `${this.host.root}/`], { timeoutMs: 300_000 });
        } finally {
            await runOk(["umount", mnt]);
        }
        this.detachSync();
    }

    private detachSync(): void {
        runSync(["losetup", "-d", this.loopDevice]);
        fs.rmSync(this.workDir, { recursive: true, force: true });
    }

    /** Throws the rescue system away without writing anything back (a failed boot, the emulator closing). */
    abandonSync(): void {
        this.killAllSync();
        for (let i = 0; i < 40 && (pidAlive(this.initPid) || pidAlive(this.launcherPid)); i++) {
            runSync(["sleep", "0.05"]);
        }
        const mnt = path.join(this.workDir, "disk");
        for (const d of [mnt, path.join(this.workDir, "root")]) {
            if (fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === d)) {
                runSync(["umount", "-l", d]);
            }
        }
        this.detachSync();
    }
}
