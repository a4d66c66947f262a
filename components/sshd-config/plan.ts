import { ALIASES, SERVER_KEYWORDS } from "./keywords";
import { fromBase64, lastValue, lineDiff, parseKeyValues } from "../core/compose";
import { declaredKeywords, neutraliseDropIn, renderManaged, renderReplace } from "./render";
import type { Distro } from "./distro";
import type { SshdSettings } from "./validate";
import { applyEdits, type LineEdit } from "./origin";

/** What the probe phase read on a host. */
export interface SshdProbe {
    /** The live sshd_config, or null when the host has none. */
    readonly config: string | null;
    /** Files the live config Includes, in the order sshd reads them. */
    readonly dropIns: readonly { readonly path: string; readonly text: string }[];
    readonly sshdActive: boolean;
    /** Lines of the live file sshd refuses to parse, 1-based, with sshd's words for each. */
    readonly badLines: readonly { readonly line: number; readonly message: string }[];
    /** `sshd -T -C` for the verifying connection, when the probe was given one and sshd could answer. */
    readonly effective?: string;
    /** The host's distribution (/etc/os-release), whose defaults a missing file is rewritten from. */
    readonly distro?: Distro;
}


export function parseProbe(stdout: string): SshdProbe {
    const kv = parseKeyValues(stdout);
    const config = lastValue(kv, "config");
    if (config === undefined) {
        throw new Error(`probe printed no config= line: ${stdout.slice(0, 200)}`);
    }
    return {
        config: config === "absent" ? null : fromBase64(config),
        dropIns: kv.filter(([k]) => k === "dropin").map(([, v]) => {
            const [p, t = ""] = v.split(" ");
            return { path: fromBase64(p), text: fromBase64(t) };
        }),
        sshdActive: lastValue(kv, "sshd_active") === "yes",
        distro: lastValue(kv, "os_id") ? { id: lastValue(kv, "os_id")!, version: lastValue(kv, "os_version") ?? "" } : undefined,
        effective: lastValue(kv, "effective") === undefined ? undefined : fromBase64(lastValue(kv, "effective")!),
        badLines: lastValue(kv, "sshd_t_unavailable") !== undefined && config !== "absent"
            ? unknownKeywordLines(fromBase64(config), fromBase64(lastValue(kv, "sshd_t_unavailable")!).trim())
            : fromBase64(lastValue(kv, "sshd_t") ?? "").split("\n").flatMap((l) => {
                const m = /:? line (\d+): (.*)$/.exec(l);
                return m ? [{ line: Number(m[1]), message: m[2] }] : [];
            }),
    };
}

/**
 * When sshd cannot run to check its own file (a library it needs is missing), the lines whose
 * keyword sshd would refuse: one it does not know, or spelled with bytes outside printable ASCII
 * (a pasted no-break space). Keywords split on ASCII blanks and '=' only, as sshd splits them.
 */
export function unknownKeywordLines(text: string, why: string): SshdProbe["badLines"] {
    const known = new Set([...SERVER_KEYWORDS, ...ALIASES.keys()].map((k) => k.toLowerCase()));
    return text.split("\n").flatMap((raw, i) => {
        const line = raw.replace(/^[ \t]+/, "");
        if (line === "" || line.startsWith("#")) return [];
        const keyword = line.split(/[ \t=]/)[0];
        return known.has(keyword.toLowerCase()) ? [] : [{ line: i + 1, message: `sshd could not check this file (${why}); '${keyword}' is not a keyword sshd knows` }];
    });
}

export type SshdMode = { readonly kind: "managed" } | { readonly kind: "replace"; readonly distro: Distro };

/** What has to change on a host so its effective sshd configuration is the declared one. */
export interface SshdPlan {
    /** The sshd_config the host must have. */
    readonly config: string;
    /** Drop-ins whose conflicting global lines must be commented out. */
    readonly dropInWrites: readonly { readonly path: string; readonly text: string }[];
    /** Lines that differ between the host and the plan, `- line` / `+ line`, for preview. */
    readonly drift: readonly string[];
    /** True when anything must change: a file, or sshd is not running. */
    readonly pending: boolean;
    /** Every path the change may touch: what the snapshot must hold. */
    readonly paths: readonly string[];
}

export function planSshd(probe: SshdProbe, settings: SshdSettings, mode: SshdMode, target: string, edits: readonly LineEdit[] = []): SshdPlan {
    const current = probe.config ?? "";
    // No file at all: sshd cannot start. The distribution's known-good file is the base, so
    // what the host had by default comes back (Include of drop-ins, PAM, the SFTP subsystem).
    const missing = probe.config === null ? renderReplace({}, probe.distro ?? { id: "generic", version: "" }) : undefined;
    // A line sshd cannot parse stops it from starting at all (S15): comment it out, saying why.
    // Then the lines that refuse the login where sshd reads them (origin.ts); line numbers still hold.
    const base = missing ?? applyEdits(withoutBadLines(current, probe.badLines), edits.filter((e) => e.file === target));
    const config = mode.kind === "replace" ? renderReplace(settings, mode.distro) : renderManaged(base, settings);
    const keywords = declaredKeywords(settings);
    const dropInWrites = probe.dropIns
        .map((d) => ({ path: d.path, before: d.text, text: neutraliseDropIn(applyEdits(d.text, edits.filter((e) => e.file === d.path)), keywords).text }))
        .filter((d) => d.text !== d.before)
        .map(({ path, text }) => ({ path, text }));
    const drift = [
        ...lineDiff(current, config).map((l) => `${target}: ${l}`),
        ...dropInWrites.flatMap((d) => lineDiff(probe.dropIns.find((x) => x.path === d.path)!.text, d.text).map((l) => `${d.path}: ${l}`)),
        ...(probe.sshdActive ? [] : ["sshd is not running"]),
    ];
    return {
        config, dropInWrites, drift, pending: drift.length > 0,
        paths: [target, ...probe.dropIns.map((d) => d.path)],
    };
}

/** Lines only in `before` as `- line`, then lines only in `after` as `+ line`. */
export function withoutBadLines(text: string, bad: SshdProbe["badLines"]): string {
    if (bad.length === 0) {
        return text;
    }
    const lines = text.split("\n");
    for (const b of bad) {
        const i = b.line - 1;
        if (i >= 0 && i < lines.length && !lines[i].startsWith("# sshremedy:")) {
            lines[i] = `# sshremedy: sshd refused this line (${b.message.replace(/[^\x20-\x7e]/g, "?")}): ${lines[i].replace(/[^\x20-\x7e]/g, "?")}`;
        }
    }
    return lines.join("\n");
}
