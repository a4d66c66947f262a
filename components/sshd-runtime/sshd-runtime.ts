import * as path from "path";
import type { Concern, ConcernPlan } from "../core/concern";
import { parseKeyValues, Step } from "../core/compose";
import { DeclarationError } from "../core/errors";
import { LONE_SURROGATE } from "../core/quote";

/** A known-good copy of a file sshd needs, already on the host (a mounted rescue disk, a backup). */
export interface RuntimeSource {
    /** Where sshd needs the file: `/lib/x86_64-linux-gnu/libwrap.so.0`. */
    readonly path: string;
    /** The copy on the host: `/mnt/rescue/lib/x86_64-linux-gnu/libwrap.so.0`. */
    readonly from: string;
}

export interface SshdRuntimeArgs {
    /**
     * Known-good copies to restore a missing file from, used before the package manager. A missing
     * library or PAM module also matches a source of the same file name. Copied with `cp -a`:
     * the copy's owner, mode and link are kept. Defaults to none.
     */
    readonly sources?: readonly RuntimeSource[];
    /**
     * Directories on the host that hold package files for an offline reinstall of the installed
     * version (`<pkg>_<version>_<arch>.deb`, `<name>-<version>-<release>.<arch>.rpm`); without one,
     * the package is reinstalled from the host's repositories. Defaults to `["/var/cache/apt/archives"]`.
     */
    readonly packageDirs?: readonly string[];
    /** The PAM service file sshd uses (pam.conf(5)). Defaults to `/etc/pam.d/sshd`. */
    readonly pamService?: string;
}

export type MissingKind = "binary" | "library" | "pam-module" | "pam-config";

export interface RuntimeProbe {
    readonly pkgManager: "dpkg" | "rpm" | "none";
    /** Everything sshd needs and lacks, each once. */
    readonly missing: readonly { readonly kind: MissingKind; readonly name: string; readonly path: string }[];
    /** Missing path → the package that owns it. */
    readonly owners: ReadonlyMap<string, string>;
    /** Owning package → its own version's package file on the host, or null. */
    readonly archives: ReadonlyMap<string, string | null>;
    /** Owning package → every file of it that is gone. */
    readonly packageMissing: ReadonlyMap<string, readonly string[]>;
    readonly privsepMissing: string | null;
    readonly hostKeys: readonly { readonly path: string; readonly present: boolean }[];
    /** systemd only: sshd's unit, whether it is enabled, and whether ssh.socket is (socket activation). */
    readonly unit?: { readonly name: string; readonly state: string; readonly socket: string };
    /** Declared `from` → whether it exists on the host. */
    readonly sources: ReadonlyMap<string, boolean>;
    /** systemd socket activation: the socket unit, its state, its files as `systemctl cat` prints them. */
    readonly socket?: { readonly name: string; readonly active: string; readonly cat: string };
    /** The addresses the host holds (for socket activation: what a ListenStream= can bind). */
    readonly localAddrs: readonly string[];
}

/** One `ListenStream=` of the socket unit, and where it is set. */
export interface SocketListen {
    readonly value: string;
    readonly file: string;
    readonly line: number;
}

/** The `ListenStream=` list systemd ends up with, from `systemctl cat` (an empty value resets it). */
export function socketListens(cat: string): SocketListen[] {
    const out: SocketListen[] = [];
    let file = "";
    let line = 0;
    let section = "";
    for (const raw of cat.split("\n")) {
        const header = /^# (\/\S+)$/.exec(raw);
        if (header) {
            [file, line, section] = [header[1], 0, ""];
            continue;
        }
        line++;
        const t = raw.trim();
        if (/^\[.*\]$/.test(t)) {
            section = t;
        } else if (section === "[Socket]") {
            const m = /^ListenStream\s*=\s*(.*)$/.exec(t);
            if (m && m[1] === "") out.length = 0;
            else if (m) out.push({ value: m[1], file, line });
        }
    }
    return out;
}

/** A `ListenStream=` value as an IP listener (`22`, `0.0.0.0:22`, `[::]:22`), or undefined (a path, vsock, …). */
export function listenAddress(value: string): { address: string; port: number } | undefined {
    const m = /^(\d+)$/.exec(value) ?? /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(value) ?? /^\[([^\]]+)\]:(\d+)$/.exec(value);
    if (!m) return undefined;
    return m.length === 2 ? { address: "", port: Number(m[1]) } : { address: m[1], port: Number(m[2]) };
}

/** "<word> <rest>": the rest is a path and may hold spaces. */
function split2(v: string): [string, string] {
    const i = v.indexOf(" ");
    return i < 0 ? [v, ""] : [v.slice(0, i), v.slice(i + 1)];
}

export function parseRuntimeProbe(stdout: string): RuntimeProbe {
    const kv = parseKeyValues(stdout);
    const pkgManager = kv.find(([k]) => k === "pkg_manager")?.[1];
    if (pkgManager !== "dpkg" && pkgManager !== "rpm" && pkgManager !== "none") {
        throw new Error(`sshd-runtime probe printed no pkg_manager= line: ${stdout.slice(0, 200)}`);
    }
    const missing = new Map<string, { kind: MissingKind; name: string; path: string }>();
    const owners = new Map<string, string>();
    const archives = new Map<string, string | null>();
    const packageMissing = new Map<string, Set<string>>();
    const sources = new Map<string, boolean>();
    const hostKeys: { path: string; present: boolean }[] = [];
    let privsepMissing: string | null = null;
    let unit: RuntimeProbe["unit"];
    let socket: RuntimeProbe["socket"];
    let socketCat = "";
    const localAddrs: string[] = [];
    for (const [k, v] of kv) {
        const [word, rest] = split2(v);
        switch (k) {
            case "missing": {
                const [name, p] = split2(rest);
                missing.set(p, { kind: word as MissingKind, name, path: p });
                break;
            }
            case "owner": owners.set(rest, word); break;
            case "package": archives.set(word, rest === "-" ? null : rest); break;
            case "package_missing": packageMissing.set(word, (packageMissing.get(word) ?? new Set()).add(rest)); break;
            case "privsep_missing": privsepMissing = v; break;
            case "hostkey": hostKeys.push({ path: rest, present: word === "present" }); break;
            case "source": sources.set(rest, word === "present"); break;
            case "socket_unit": socket = { name: word, active: rest, cat: "" }; break;
            case "socket_cat": socketCat = Buffer.from(v, "base64").toString("utf8"); break;
            case "local_addr": localAddrs.push(v); break;
            case "unit": {
                const [state, socket] = split2(rest);
                unit = { name: word, state, socket };
                break;
            }
        }
    }
    return {
        pkgManager, missing: [...missing.values()], owners, archives, sources, privsepMissing, hostKeys, unit, localAddrs,
        socket: socket && { ...socket, cat: socketCat },
        packageMissing: new Map([...packageMissing].map(([p, files]) => [p, [...files]])),
    };
}

const kindLabel: Record<MissingKind, string> = {
    binary: "the sshd binary",
    library: "shared library",
    "pam-module": "PAM module",
    "pam-config": "PAM file",
};

/**
 * Socket activation: the socket must bind every address it lists (one it cannot bind fails the
 * whole unit) and listen on the login's port. Otherwise a drop-in of this project's, read last,
 * sets the list anew: the entries that can bind, and the login's port when none of them serves it.
 */
export function planSocket(probe: RuntimeProbe, port: number): { drift: string[]; dropin?: { path: string; text: string }; renew: boolean } {
    const s = probe.socket;
    if (!s) return { drift: [], renew: false };
    const listens = socketListens(s.cat);
    const wildcard = new Set(["", "0.0.0.0", "::"]);
    const where = (l: SocketListen) => `${l.file}:${l.line}`;
    const unbindable = listens.filter((l) => {
        const a = listenAddress(l.value);
        return a !== undefined && !wildcard.has(a.address) && !probe.localAddrs.includes(a.address);
    });
    const kept = listens.filter((l) => !unbindable.includes(l));
    const serves = kept.some((l) => listenAddress(l.value)?.port === port);
    const drift = unbindable.map((l) => `${s.name}: ListenStream=${l.value} (${where(l)}) cannot be bound: not an address of this host, so the socket does not start`);
    if (!serves) {
        drift.push(`${s.name} listens on ${listens.map((l) => `${l.value} (${where(l)})`).join(", ") || "nothing"}, not on the login's port ${port}: sshd is socket-activated, so its own Port does not count`);
    }
    if (drift.length === 0) {
        return s.active === "failed"
            ? { drift: [`${s.name} is failed: started again`], renew: true }
            : { drift: [], renew: false };
    }
    const text = [
        `# sshremedy: where the socket-activated sshd listens for the login (port ${port}).`,
        ...unbindable.map((l) => `# left out: ListenStream=${l.value} (${where(l)}): not an address of this host`),
        "[Socket]",
        "ListenStream=",
        ...kept.map((l) => `ListenStream=${l.value}`),
        ...(serves ? [] : [`ListenStream=${port}`]),
        "",
    ].join("\n");
    return { drift, dropin: { path: `/etc/systemd/system/${s.name}.d/zz-sshremedy.conf`, text }, renew: true };
}

/** What must change on a host so sshd can start, from its probe; throws when a gap has no remedy. */
export function planRuntime(probe: RuntimeProbe, args: SshdRuntimeArgs = {}, loginPort = 22): ConcernPlan {
    const drift: string[] = [];
    const paths = new Set<string>();
    const copies: RuntimeSource[] = [];
    const packages = new Set<string>();
    for (const m of probe.missing) {
        const what = m.kind === "binary" ? kindLabel.binary : `${kindLabel[m.kind]} ${m.name}`;
        const source = (args.sources ?? []).find((s) => s.path === m.path
            || (m.kind !== "binary" && path.posix.basename(s.path) === m.name));
        const pkg = probe.owners.get(m.path);
        if (source && probe.sources.get(source.from)) {
            copies.push(source);
            paths.add(source.path);
            drift.push(`${source.path}: missing (${what}); copy from ${source.from}`);
        } else if (pkg !== undefined) {
            packages.add(pkg);
            paths.add(m.path);
            const archive = probe.archives.get(pkg);
            drift.push(`${m.path}: missing (${what}); reinstall ${pkg} ${archive ? `from ${archive}` : "from the host's repositories"}`);
        } else {
            const why = source ? `the declared source ${source.from} does not exist`
                : probe.pkgManager === "none" ? "the host has no dpkg or rpm" : "no installed package owns it";
            throw new Error(`sshd-runtime: ${m.path} (${what}) is missing and ${why}. `
                + `Fix: declare sources: [{ path: "${m.path}", from: "<a known-good copy on the host>" }]`);
        }
    }
    for (const pkg of packages) {
        (probe.packageMissing.get(pkg) ?? []).forEach((f) => paths.add(f));
    }
    const expect = [...paths];
    if (probe.privsepMissing) {
        drift.push(`${probe.privsepMissing}: missing privilege separation directory`);
        paths.add(probe.privsepMissing);
    }
    const keysMissing = probe.hostKeys.length > 0 && !probe.hostKeys.some((k) => k.present);
    if (keysMissing) {
        drift.push(`no host key sshd can load (${probe.hostKeys.map((k) => k.path).join(", ")}); generate with ssh-keygen -A`);
        probe.hostKeys.forEach((k) => paths.add(k.path).add(`${k.path}.pub`));
    }
    // sshd that does not start with the host is a lockout waiting for the next reboot.
    const u = probe.unit;
    const enable = u && u.state === "disabled" && u.socket !== "enabled" && /^[A-Za-z0-9@._-]+$/.test(u.name) ? u.name : "";
    if (enable) {
        drift.push(`${enable} is disabled (and ssh.socket is ${u!.socket}): sshd would not start at the next boot; systemctl enable ${enable}`);
        paths.add(`/etc/systemd/system/multi-user.target.wants/${enable}`).add("/etc/systemd/system/sshd.service");
    }
    const socket = planSocket(probe, loginPort);
    drift.push(...socket.drift);
    if (socket.dropin) paths.add(socket.dropin.path);
    const offline = [...packages].map((p) => probe.archives.get(p)).filter((a): a is string => !!a);
    const online = [...packages].filter((p) => !probe.archives.get(p));
    const env: Record<string, string> = {
        SR_SOURCES: copies.map((s) => `${s.path}\t${s.from}`).join("\n"),
        SR_ARCHIVES: offline.join("\n"),
        SR_REINSTALL: online.join("\n"),
        SR_PRIVSEP: probe.privsepMissing ?? "",
        SR_HOSTKEYS: keysMissing ? probe.hostKeys.map((k) => k.path).join("\n") : "",
        SR_ENABLE: enable,
        SR_SOCKET_DROPIN: socket.dropin?.path ?? "",
        SR_SOCKET_LISTEN: socket.dropin?.text ?? "",
        SR_SOCKET_RENEW: socket.renew && !socket.dropin ? "yes" : "",
        SR_EXPECT: expect.join("\n"),
    };
    const pending = drift.length > 0;
    return {
        pending, drift, paths: [...paths],
        apply: pending ? [{ script: "sshd-runtime/apply", env }] : [],
        restartSshd: pending,
    };
}

function checkPath(argument: string, value: unknown): void {
    if (typeof value !== "string" || !value.startsWith("/") || /[\t\n\0]/.test(value) || LONE_SURROGATE.test(value)
        || value.split("/").some((c) => c === "." || c === "..")) {
        throw new DeclarationError(argument, `must be an absolute path without tabs, newlines, '.' or '..': got ${JSON.stringify(value)}`,
            "give the absolute path of the file or folder on the host, e.g. /etc/pam.d/sshd");
    }
}

function checkList(argument: string, value: unknown): readonly unknown[] {
    if (!Array.isArray(value)) throw new DeclarationError(argument, `is ${JSON.stringify(value)}, not a list`, "give a list, or leave it out");
    return value;
}

/** sshd can start: its binary, shared libraries, PAM modules, privilege separation directory and a host key. */
export function sshdRuntimeConcern(args: SshdRuntimeArgs = {}, login: { readonly port?: number } = {}): Concern {
    const packageDirs = args.packageDirs ?? ["/var/cache/apt/archives"];
    const pamService = args.pamService ?? "/etc/pam.d/sshd";
    checkList("sources", args.sources ?? []).forEach((s, i) => {
        checkPath(`sources[${i}].path`, (s as RuntimeSource | null)?.path);
        checkPath(`sources[${i}].from`, (s as RuntimeSource | null)?.from);
    });
    checkList("packageDirs", packageDirs).forEach((d, i) => checkPath(`packageDirs[${i}]`, d));
    checkPath("pamService", pamService);
    const probe: Step = {
        script: "sshd-runtime/probe",
        env: {
            SR_PAM_SERVICE: pamService,
            SR_PACKAGE_DIRS: packageDirs.join("\n"),
            SR_SOURCES_FROM: (args.sources ?? []).map((s) => s.from).join("\n"),
        },
    };
    return {
        name: "sshd-runtime",
        probe,
        plan: (stdout) => planRuntime(parseRuntimeProbe(stdout), args, login.port ?? 22),
        declaration: { sources: args.sources ?? [], packageDirs, pamService },
    };
}
