import * as path from "path";
import type { Concern, ConcernPlan } from "../core/concern";
import { parseKeyValues, Step } from "../core/compose";

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
            case "unit": {
                const [state, socket] = split2(rest);
                unit = { name: word, state, socket };
                break;
            }
        }
    }
    return {
        pkgManager, missing: [...missing.values()], owners, archives, sources, privsepMissing, hostKeys, unit,
        packageMissing: new Map([...packageMissing].map(([p, files]) => [p, [...files]])),
    };
}

const kindLabel: Record<MissingKind, string> = {
    binary: "the sshd binary",
    library: "shared library",
    "pam-module": "PAM module",
    "pam-config": "PAM file",
};

/** What must change on a host so sshd can start, from its probe; throws when a gap has no remedy. */
export function planRuntime(probe: RuntimeProbe, args: SshdRuntimeArgs = {}): ConcernPlan {
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
    const offline = [...packages].map((p) => probe.archives.get(p)).filter((a): a is string => !!a);
    const online = [...packages].filter((p) => !probe.archives.get(p));
    const env: Record<string, string> = {
        SR_SOURCES: copies.map((s) => `${s.path}\t${s.from}`).join("\n"),
        SR_ARCHIVES: offline.join("\n"),
        SR_REINSTALL: online.join("\n"),
        SR_PRIVSEP: probe.privsepMissing ?? "",
        SR_HOSTKEYS: keysMissing ? probe.hostKeys.map((k) => k.path).join("\n") : "",
        SR_ENABLE: enable,
        SR_EXPECT: expect.join("\n"),
    };
    const pending = drift.length > 0;
    return {
        pending, drift, paths: [...paths],
        apply: pending ? [{ script: "sshd-runtime/apply", env }] : [],
        restartSshd: pending,
    };
}

function checkPath(argument: string, value: string): void {
    if (!value.startsWith("/") || /[\t\n\0]/.test(value) || value.split("/").some((c) => c === "." || c === "..")) {
        throw new Error(`sshd-runtime: ${argument} must be an absolute path without tabs, newlines, '.' or '..': got ${JSON.stringify(value)}`);
    }
}

/** sshd can start: its binary, shared libraries, PAM modules, privilege separation directory and a host key. */
export function sshdRuntimeConcern(args: SshdRuntimeArgs = {}): Concern {
    const packageDirs = args.packageDirs ?? ["/var/cache/apt/archives"];
    const pamService = args.pamService ?? "/etc/pam.d/sshd";
    (args.sources ?? []).forEach((s, i) => {
        checkPath(`sources[${i}].path`, s.path);
        checkPath(`sources[${i}].from`, s.from);
    });
    packageDirs.forEach((d, i) => checkPath(`packageDirs[${i}]`, d));
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
        plan: (stdout) => planRuntime(parseRuntimeProbe(stdout), args),
        declaration: { sources: args.sources ?? [], packageDirs, pamService },
    };
}
