/**
 * Per-distribution defaults for replace mode, looked up from most to least specific:
 * `id@version` → `id@major` → `id` → family → generic, then overridden by the user's settings.
 */
import type { SshdSettings } from "./validate";

/** The host's distribution, as /etc/os-release names it (`ID`, `VERSION_ID`). */
export interface Distro {
    /** os-release ID: "debian", "ubuntu", "rhel", "rocky", … */
    readonly id: string;
    /** os-release VERSION_ID: "12", "22.04", "9.3". Defaults to unknown (version-specific defaults skipped). */
    readonly version?: string;
    /** Defaults to the family known for `id`, or generic when the id is unknown. */
    readonly family?: DistroFamily;
}

export type DistroFamily = "debian" | "rhel";

interface Layer {
    readonly settings?: SshdSettings;
    /** The drop-in glob to `Include`, or null for none. */
    readonly include?: string | null;
}

const DROP_INS = "/etc/ssh/sshd_config.d/*.conf";

const FAMILY_OF: Readonly<Record<string, DistroFamily>> = {
    debian: "debian", ubuntu: "debian", raspbian: "debian", linuxmint: "debian",
    rhel: "rhel", centos: "rhel", rocky: "rhel", almalinux: "rhel", ol: "rhel", fedora: "rhel",
    tencentos: "rhel", opencloudos: "rhel", anolis: "rhel", amzn: "rhel",
};

const LAYERS: Readonly<Record<string, Layer>> = {
    generic: {
        settings: {
            port: 22,
            addressFamily: "any",
            // No HostKey lines: sshd's built-in list skips key types the host has none of, whereas a
            // listed key that is missing stops sshd (a host with only an ed25519 key is common).
            loginGraceTime: "2m",
            maxStartups: "10:30:100",
            maxAuthTries: 6,
            maxSessions: 10,
            permitRootLogin: "prohibit-password",
            pubkeyAuthentication: true,
            passwordAuthentication: false,
            kbdInteractiveAuthentication: false,
            authorizedKeysFile: [".ssh/authorized_keys"],
            strictModes: true,
            usePAM: true,
            extra: { X11Forwarding: "no", Subsystem: ["sftp", "internal-sftp"] },
        },
        include: null,
    },
    "family:debian": {
        // Debian's PAM session prints the motd already; sshd printing it too shows it twice.
        settings: { extra: { PrintMotd: "no", AcceptEnv: ["LANG", "LC_*"], Subsystem: ["sftp", "/usr/lib/openssh/sftp-server"] } },
        include: DROP_INS,
    },
    "debian@10": { include: null },
    "ubuntu@18.04": { include: null },
    "family:rhel": {
        settings: { extra: { SyslogFacility: "AUTHPRIV", Subsystem: ["sftp", "/usr/libexec/openssh/sftp-server"] } },
        include: null,
    },
    fedora: { include: DROP_INS },
    ...Object.fromEntries(["rhel", "centos", "rocky", "almalinux", "ol"].flatMap((id) =>
        ["9", "10"].map((major) => [`${id}@${major}`, { include: DROP_INS }]))),
};

/** Layer keys for a distribution, most specific first. */
export function distroLookupOrder(distro: Distro): string[] {
    const id = distro.id.toLowerCase();
    const family = distro.family ?? FAMILY_OF[id];
    const keys: string[] = [];
    if (distro.version !== undefined) {
        keys.push(`${id}@${distro.version}`);
        const major = distro.version.split(".")[0];
        if (major !== distro.version) keys.push(`${id}@${major}`);
    }
    keys.push(id);
    if (family !== undefined) keys.push(`family:${family}`);
    keys.push("generic");
    return keys;
}

/** Later settings override earlier ones field by field; `extra` merges keyword by keyword, case-insensitively. */
export function mergeSettings(...layers: readonly SshdSettings[]): SshdSettings {
    const merged: Record<string, unknown> = {};
    const extra = new Map<string, [string, string | readonly string[]]>();
    for (const layer of layers) {
        for (const [key, value] of Object.entries(layer)) {
            if (key === "extra" && value !== undefined) {
                for (const [k, x] of Object.entries(value as Record<string, string | readonly string[]>)) {
                    extra.set(k.toLowerCase(), [k, x]);
                }
            } else if (value !== undefined) {
                merged[key] = value;
            }
        }
    }
    if (extra.size > 0) merged.extra = Object.fromEntries(extra.values());
    return merged as SshdSettings;
}

/** The baseline settings and drop-in glob for a distribution, before the user's settings apply. */
export function distroDefaults(distro: Distro): { settings: SshdSettings; include: string | null } {
    const chain = distroLookupOrder(distro).map((key) => LAYERS[key]).filter((layer) => layer !== undefined);
    const include = chain.find((layer) => layer.include !== undefined)?.include ?? null;
    const settings = mergeSettings(...chain.reverse().map((layer) => layer.settings ?? {}));
    return { settings, include };
}
