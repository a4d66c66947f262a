import type { Concern, ConcernPlan } from "../core/concern";
import { lastValue, parseKeyValues, Step } from "../core/compose";
import { DeclarationError } from "../core/errors";
import { LONE_SURROGATE } from "../core/quote";
import { checkUser } from "../declaration";

export type SelinuxMode = "enforcing" | "permissive" | "disabled";

export interface SelinuxModeArgs {
    /**
     * The mode SELinux runs in now (setenforce(8)) and from the next boot (selinux_config(5)).
     * "disabled" weakens the host: the declaration records it as `disablesSelinux`, where policies
     * see it. At run time it can only reach permissive; the config file carries it to the next boot
     * (newer Red Hat kernels also need `selinux=0` on their command line). Defaults to "enforcing".
     */
    readonly mode?: SelinuxMode;
    /**
     * Users whose home and `~/.ssh` (authorized_keys included) must carry the policy's labels:
     * mislabeled ones are relabelled with `restorecon -R -v`, the fix for a key login that SELinux
     * refuses, instead of turning SELinux off. Defaults to none.
     */
    readonly relabelUsers?: readonly string[];
    /** SELinux's config file. Defaults to `/etc/selinux/config`. */
    readonly configPath?: string;
}

export interface SelinuxProbe {
    /** "absent": the kernel runs no SELinux now (no selinuxfs, no getenforce, or Disabled). */
    readonly runtime: "absent" | "enforcing" | "permissive";
    /** SELINUX= of the config file, lower case, or null when there is no file. */
    readonly configMode: string | null;
    /** A policy for the config's SELINUXTYPE is installed, so a boot can load one. */
    readonly policyInstalled: boolean;
    readonly usersMissing: readonly string[];
    /** user → their ~/.ssh, where it exists. */
    readonly sshDirs: ReadonlyMap<string, string>;
    readonly mislabeled: readonly { readonly user: string; readonly path: string }[];
}

function split2(v: string): [string, string] {
    const i = v.indexOf(" ");
    return i < 0 ? [v, ""] : [v.slice(0, i), v.slice(i + 1)];
}

export function parseSelinuxProbe(stdout: string): SelinuxProbe {
    const kv = parseKeyValues(stdout);
    const runtime = lastValue(kv, "selinux");
    if (runtime !== "absent" && runtime !== "enforcing" && runtime !== "permissive") {
        throw new Error(`selinux probe printed no selinux= line: ${stdout.slice(0, 200)}`);
    }
    const config = lastValue(kv, "config") ?? "absent";
    const byKey = (key: string) => kv.filter(([k]) => k === key).map(([, v]) => split2(v));
    return {
        runtime,
        configMode: config === "absent" ? null : split2(config)[1].toLowerCase(),
        policyInstalled: lastValue(kv, "policy") === "present",
        usersMissing: kv.filter(([k]) => k === "user_missing").map(([, v]) => v),
        sshDirs: new Map(byKey("ssh_dir")),
        mislabeled: byKey("mislabeled").map(([user, path]) => ({ user, path })),
    };
}

/** What must change so SELinux runs as declared and the users' ~/.ssh carries the policy's labels. */
export function planSelinux(probe: SelinuxProbe, args: SelinuxModeArgs = {}): ConcernPlan {
    const mode = args.mode ?? "enforcing";
    const configPath = args.configPath ?? "/etc/selinux/config";
    if (probe.usersMissing.length > 0) {
        throw new Error(`selinux: relabelUsers names ${probe.usersMissing.join(", ")}, not a user on the host. `
            + "Fix: create the user first, or leave it out of relabelUsers");
    }
    const drift: string[] = [];
    const paths: string[] = [];
    const env: Record<string, string> = { SR_SELINUX_CONFIG: configPath };

    // At run time "disabled" is as far as permissive: only a boot can unload SELinux.
    const runtimeWanted = mode === "enforcing" ? "enforcing" : "permissive";
    if (probe.runtime !== "absent" && probe.runtime !== runtimeWanted) {
        drift.push(`SELinux at run time: ${probe.runtime} → ${runtimeWanted} (setenforce ${runtimeWanted === "enforcing" ? 1 : 0})`);
        env.SR_RUNTIME = runtimeWanted;
    }

    // Without SELinux running, enforcing is written only where a policy is installed: a boot told
    // to enforce a policy it cannot load stops (systemd freezes); permissive only warns.
    const safeToWrite = probe.runtime !== "absent" || mode !== "enforcing" || probe.policyInstalled;
    if (probe.configMode !== null && probe.configMode !== mode && safeToWrite) {
        drift.push(`${configPath}: - SELINUX=${probe.configMode}`, `${configPath}: + SELINUX=${mode}`);
        env.SR_CONFIG_MODE = mode;
        paths.push(configPath);
        if (probe.configMode === "disabled") {
            drift.push("/.autorelabel: + (the next boot relabels the file system before SELinux enforces)");
            env.SR_AUTORELABEL = "yes";
            paths.push("/.autorelabel");
        }
    }

    if (probe.runtime !== "absent") {
        const relabel = new Set<string>();
        for (const m of probe.mislabeled) {
            const ssh = probe.sshDirs.get(m.user);
            const dir = ssh !== undefined && (m.path === ssh || m.path.startsWith(`${ssh}/`)) ? ssh : m.path;
            relabel.add(dir);
            drift.push(`${m.path}: SELinux label is not the policy's (restorecon -R -v ${dir})`);
        }
        env.SR_RELABEL = [...relabel].join("\n");
    }

    const pending = drift.length > 0;
    return { pending, drift, paths, apply: pending ? [{ script: "selinux-mode/apply", env }] : [], restartSshd: false };
}

/** SELinux in the declared mode, and the declared users' ~/.ssh relabelled rather than SELinux turned off. */
export function selinuxModeConcern(args: SelinuxModeArgs = {}): Concern {
    const mode = args.mode ?? "enforcing";
    const configPath = args.configPath ?? "/etc/selinux/config";
    const users = args.relabelUsers ?? [];
    if (!["enforcing", "permissive", "disabled"].includes(mode)) {
        throw new DeclarationError("mode", `must be "enforcing", "permissive" or "disabled": got ${JSON.stringify(mode)}`,
            'use "enforcing", or leave it out');
    }
    if (typeof configPath !== "string" || !configPath.startsWith("/") || /[\n\0]/.test(configPath) || LONE_SURROGATE.test(configPath)) {
        throw new DeclarationError("configPath", `must be an absolute path on one line: got ${JSON.stringify(configPath)}`,
            "give SELinux's config file, e.g. /etc/selinux/config, or leave it out");
    }
    if (!Array.isArray(users)) {
        throw new DeclarationError("relabelUsers", `is ${JSON.stringify(users)}, not a list`, "give a list of user names");
    }
    // The same check as login.user: a name of the portable set, at most 32 characters.
    users.forEach((u, i) => checkUser(`relabelUsers[${i}]`, u));
    const probe: Step = { script: "selinux-mode/probe", env: { SR_SELINUX_CONFIG: configPath, SR_USERS: users.join("\n") } };
    return {
        name: "selinux-mode",
        probe,
        plan: (stdout) => planSelinux(parseSelinuxProbe(stdout), args),
        declaration: { mode, disablesSelinux: mode === "disabled", relabelUsers: users, configPath },
    };
}
