/**
 * Independent readers of what reaches a host, to check the module's output against the
 * declaration: sshd_config text tokenised the way sshd reads it (OpenSSH 9.x servconf.c and
 * misc.c argv_split), and shell text run through a real `sh`.
 */
import { spawnSync } from "child_process";
import { strict as assert } from "assert";
import { withParameters } from "../../../components/core/compose";

// --- sshd_config, as sshd reads it ---------------------------------------------------------------

/**
 * OpenSSH's argv_split(s, …, terminate_on_comment=1): tokens split at unquoted spaces and tabs,
 * double or single quotes group, `\` escapes a quote, a backslash or (outside quotes) a space,
 * a `#` at the start of a token ends the line. Returns undefined for "invalid quotes".
 */
export function argvSplit(s: string): string[] | undefined {
    const out: string[] = [];
    let i = 0;
    while (i < s.length) {
        if (s[i] === " " || s[i] === "\t") {
            i++;
            continue;
        }
        if (s[i] === "#") break;
        let quote = "";
        let arg = "";
        for (; i < s.length; i++) {
            const c = s[i];
            if (c === "\\") {
                const n = s[i + 1];
                if (n === "'" || n === '"' || n === "\\" || (quote === "" && n === " ")) {
                    i++;
                    arg += n;
                } else {
                    arg += c;
                }
            } else if (quote === "" && (c === " " || c === "\t")) {
                break;
            } else if (quote === "" && (c === '"' || c === "'")) {
                quote = c;
            } else if (quote !== "" && c === quote) {
                quote = "";
            } else {
                arg += c;
            }
        }
        if (quote !== "") return undefined;
        out.push(arg);
    }
    return out;
}

export interface SshdLine {
    /** 1-based line number. */
    readonly line: number;
    /** Lowercase keyword. */
    readonly keyword: string;
    readonly args: readonly string[];
    /** -1 for global lines, else the index of the Match block the line belongs to. */
    readonly block: number;
}

/**
 * Every directive of an sshd_config text as sshd sees it: the file split at "\n" only (sshd reads
 * lines), trailing whitespace dropped, the keyword ended by whitespace or `=`, comments skipped.
 * Throws on a line sshd would refuse to tokenise.
 */
export function parseSshdConfig(text: string): SshdLine[] {
    const out: SshdLine[] = [];
    let block = -1;
    text.split("\n").forEach((raw, n) => {
        const line = raw.replace(/[ \t\r\n\f]+$/, "");
        const m = /^[ \t\r\n]*([^ \t\r\n"=]*)(.*)$/s.exec(line)!;
        const keyword = m[1];
        if (keyword === "" || keyword.startsWith("#")) return;
        // strdelim: one '=' may sit between keyword and value, with whitespace around it.
        const rest = m[2].replace(/^[ \t\r\n]*=?[ \t\r\n]*/, "");
        const args = argvSplit(rest);
        if (args === undefined) throw new Error(`line ${n + 1}: invalid quotes: ${JSON.stringify(raw)}`);
        if (keyword.toLowerCase() === "match") block++;
        out.push({ line: n + 1, keyword: keyword.toLowerCase(), args, block });
    });
    return out;
}

// --- the shell -----------------------------------------------------------------------------------

export type Env = Readonly<Record<string, string | number>>;

/** The shells a host may have as /bin/sh (dash on Debian, bash on RHEL), where this machine has them. */
export const SHELLS: readonly string[] = ["/bin/sh", "/bin/dash", "/bin/bash", "/usr/bin/busybox"].filter((sh) =>
    spawnSync(sh, sh.endsWith("busybox") ? ["sh", "-c", "true"] : ["-c", "true"]).status === 0);

/**
 * Runs every env through the one quoting path (compose.ts's assignments, as withParameters uses
 * it) in one real shell, each in a subshell of its own, and returns what the shell holds in each
 * variable, as bytes decoded as UTF-8.
 */
export function shellValues(envs: readonly Env[], shell = "/bin/sh"): string[][] {
    const keys = envs.map((e) => Object.keys(e));
    const script = envs.map((e, i) => {
        const printer = keys[i].length === 0 ? ":" : `printf '%s\\0' ${keys[i].map((k) => `"$${k}"`).join(" ")}`;
        return `(\n${withParameters(e, printer)}\n)`;
    }).join("\n");
    const argv = shell.endsWith("busybox") ? ["sh", "-s"] : ["-s"];
    const r = spawnSync(shell, argv, { input: script, maxBuffer: 1 << 30 });
    assert.equal(r.status, 0, `${shell} exited ${r.status}: ${String(r.stderr).slice(0, 2000)}`);
    const fields = r.stdout.toString("utf8").split("\0");
    fields.pop();
    const out: string[][] = [];
    let at = 0;
    for (const k of keys) {
        out.push(fields.slice(at, at + k.length));
        at += k.length;
    }
    assert.equal(at, fields.length, `${shell} printed ${fields.length} values, ${at} were declared`);
    return out;
}

/**
 * The env values that a real shell does not hold exactly as given, per env: each is
 * `[index, key, given, held]`. Empty when every value round-trips, in every shell of SHELLS.
 */
export function shellMismatches(envs: readonly Env[]): Array<[number, string, string, string, string]> {
    const bad: Array<[number, string, string, string, string]> = [];
    for (const shell of SHELLS) {
        const held = shellValues(envs, shell);
        envs.forEach((e, i) => Object.entries(e).forEach(([k, v], j) => {
            if (held[i][j] !== String(v)) bad.push([i, k, String(v), held[i][j], shell]);
        }));
    }
    return bad;
}

/** Runs `sh -c 'printf %s <quoted>'` for each quoted word in one shell and returns what it printed, per word. */
export function shellWords(quoted: readonly string[], shell = "/bin/sh"): string[] {
    const script = quoted.map((q) => `printf '%s\\0' ${q}`).join("\n");
    const argv = shell.endsWith("busybox") ? ["sh", "-s"] : ["-s"];
    const r = spawnSync(shell, argv, { input: script, maxBuffer: 1 << 30 });
    const fields = r.stdout.toString("utf8").split("\0");
    fields.pop();
    return fields;
}
