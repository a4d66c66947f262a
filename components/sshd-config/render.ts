/**
 * sshd_config text from validated settings: managed mode edits the host's own file, replace mode
 * writes a complete one. Both are pure; every value comes out of validateSshdSettings.
 */
import { type Distro, distroDefaults, mergeSettings } from "./distro";
import { DeclarationError } from "../core/errors";
import { ALIASES, lineKeyword } from "./keywords";
import { rationale, sectionOf, SECTIONS } from "./rationale";
import { type SshdDirective, type SshdSettings, validateSshdSettings } from "./validate";

/** Prefix of every line this module comments out; stripping it restores the line. */
export const MARKER = "# sshremedy: ";

function splitLines(text: string): string[] {
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    return lines;
}

function joinLines(lines: readonly string[]): string {
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/**
 * The keyword a line sets, lowercased, with an old alias read as the keyword it stands for:
 * sshd keeps the first value of `ChallengeResponseAuthentication` and `KbdInteractiveAuthentication` alike.
 */
function lineSetting(line: string): string | undefined {
    const k = lineKeyword(line);
    return k === undefined ? undefined : ALIASES.get(k)?.toLowerCase() ?? k;
}

/** Index of the first `Match` line: everything before it is global, everything after belongs to a Match block. */
function globalEnd(lines: readonly string[]): number {
    const i = lines.findIndex((line) => lineKeyword(line) === "match");
    return i < 0 ? lines.length : i;
}

/** `Keyword args` with the keyword lowercased and whitespace (or `=`) between tokens collapsed. */
function normalise(line: string): string {
    const m = /^\s*([^\s=]+)(?:\s*=\s*|\s+)?(.*?)\s*$/.exec(line.replace(/\r$/, "")) ?? ["", line, ""];
    return `${m[1].toLowerCase()} ${m[2].split(/\s+/).join(" ")}`;
}

function directiveLines(d: SshdDirective, indent = ""): string[] {
    return d.lines.map((args) => `${indent}${d.keyword} ${args}`);
}

interface Plan {
    /** Line index → the lines written in its place ([] drops it). */
    readonly replaced: Map<number, string[]>;
    readonly commented: Set<number>;
    readonly inserted: string[];
}

/**
 * Plans one declared directive against the global lines that set its keyword (`at`, ascending):
 * the first run of consecutive occurrences becomes the declared lines, unless it already says the
 * same; later occurrences are commented out; a directive declared absent comments out all of them.
 */
function planDirective(lines: readonly string[], at: readonly number[], wanted: readonly string[], plan: Plan): void {
    if (wanted.length === 0) {
        at.forEach((i) => plan.commented.add(i));
        return;
    }
    if (at.length === 0) {
        plan.inserted.push(...wanted);
        return;
    }
    let run = 1;
    while (at[run] === at[0] + run) run++;
    const current = at.slice(0, run).map((i) => normalise(lines[i]));
    const same = current.length === wanted.length && current.every((line, i) => line === normalise(wanted[i]));
    if (!same) {
        plan.replaced.set(at[0], [...wanted]);
        at.slice(1, run).forEach((i) => plan.replaced.set(i, []));
    }
    at.slice(run).forEach((i) => plan.commented.add(i));
}

/**
 * Managed mode: enforces the declared directives in an existing sshd_config and keeps every other
 * line (comments, order, unknown lines) as the user wrote it. sshd keeps the first global value of
 * most keywords, the last of MaxStartups, and adds up AllowUsers, Port, ListenAddress or HostKey, so
 * each declared keyword ends with exactly one global run of lines (see planDirective).
 *
 * Missing directives go right after the last global directive: before the first `Match` line (a
 * line after it would only apply inside that block) and after a leading `Include`. No position lets
 * a value win against drop-ins for every keyword, so conflicting drop-in lines are commented out
 * with neutraliseDropIn instead, and the file keeps the layout its distribution shipped.
 * Match blocks are never touched.
 */
export function renderManaged(existingText: string, settings: SshdSettings): string {
    if (settings.match !== undefined) {
        throw new DeclarationError("match", "is only written in replace mode",
            "declare Match blocks in replace mode, or keep them in the host's file: managed mode leaves them untouched");
    }
    const { directives } = validateSshdSettings(settings);
    const lines = splitLines(existingText);
    const end = globalEnd(lines);
    const keywords = lines.map((line, i) => (i < end ? lineSetting(line) : undefined));
    const plan: Plan = { replaced: new Map(), commented: new Set(), inserted: [] };
    for (const d of directives) {
        const at = keywords.flatMap((k, i) => (k === d.keyword.toLowerCase() ? [i] : []));
        planDirective(lines, at, directiveLines(d), plan);
    }
    const lastDirective = keywords.reduce((last, k, i) => (k !== undefined ? i : last), -1);
    const insertAfter = lastDirective >= 0 ? lastDirective : end - 1;
    const out: string[] = insertAfter < 0 ? [...plan.inserted] : [];
    lines.forEach((line, i) => {
        out.push(...(plan.replaced.get(i) ?? [plan.commented.has(i) ? `${MARKER}${line}` : line]));
        if (i === insertAfter) out.push(...plan.inserted);
    });
    return joinLines(out);
}

export interface NeutralisedDropIn {
    readonly text: string;
    /** 1-based numbers of the lines that were commented out. */
    readonly changed: readonly number[];
}

/**
 * Comments out (with MARKER) the global lines of an `Include`d drop-in that set any of `keywords`,
 * so the main file's values take effect. Lines inside the drop-in's own Match blocks stay: a Match
 * in an included file ends with that file (verified with sshd -T on OpenSSH 9.2).
 */
export function neutraliseDropIn(dropInText: string, keywords: readonly string[]): NeutralisedDropIn {
    const targets = new Set(keywords.map((k) => k.toLowerCase()));
    const lines = splitLines(dropInText);
    const end = globalEnd(lines);
    const changed: number[] = [];
    const out = lines.map((line, i) => {
        const k = lineSetting(line);
        if (i >= end || k === undefined || !targets.has(k)) return line;
        changed.push(i + 1);
        return `${MARKER}${line}`;
    });
    return { text: changed.length === 0 ? dropInText : joinLines(out), changed };
}

/** The keywords a settings object declares: the ones to neutralise in drop-ins. */
export function declaredKeywords(settings: SshdSettings): string[] {
    return validateSshdSettings(settings).directives.map((d) => d.keyword);
}

/** The settings replace mode enforces: the distribution's defaults overridden by the user's. */
export function replaceSettings(settings: SshdSettings, distro: Distro): SshdSettings {
    validateSshdSettings(settings);
    return mergeSettings(distroDefaults(distro).settings, settings);
}

/**
 * Replace mode: a complete sshd_config. Sections in a fixed order, one rationale comment per
 * directive, then the distribution's drop-in `Include`, then Match blocks. The Include comes after
 * the directives on purpose: sshd keeps the first value, so packaged and cloud-init drop-ins (such as
 * a `PasswordAuthentication yes` from cloud-init) cannot override what is declared here, yet still
 * add what is not (RHEL's crypto-policy ciphers).
 */
export function renderReplace(settings: SshdSettings, distro: Distro): string {
    const { directives, match } = validateSshdSettings(replaceSettings(settings, distro));
    const { include } = distroDefaults(distro);
    const where = distro.version === undefined ? distro.id : `${distro.id} ${distro.version}`;
    const out = [
        `# sshd_config written by sshremedy (replace mode) for ${where}. See sshd_config(5).`,
        "# Changes made here are undone on the next `pulumi up`: declare them in the stack instead.",
    ];
    for (const section of SECTIONS) {
        const inSection = directives.filter((d) => d.lines.length > 0 && sectionOf(d.keyword) === section);
        if (inSection.length === 0) continue;
        out.push("", `## ${section}`);
        for (const d of inSection) out.push(`# ${rationale(d)}`, ...directiveLines(d));
    }
    if (include !== null) {
        out.push("", "## Drop-ins", "# Read after the directives above: sshd keeps the first value of most keywords, so drop-ins mostly add what this file leaves unset.",
            `Include ${include}`);
    }
    for (const block of match) {
        out.push("", `Match ${block.condition}`);
        for (const d of block.directives.filter((x) => x.lines.length > 0)) out.push(`\t# ${rationale(d)}`, ...directiveLines(d, "\t"));
    }
    return joinLines(out);
}
