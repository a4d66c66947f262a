import * as fs from "fs";
import * as path from "path";
import { shellQuote } from "./quote";

/**
 * Host scripts are files of their own beside the TypeScript that sends them: the host library
 * (lib.sh and the pipeline's own steps) in components/host, each concern's in its folder. A phase of the pipeline is one
 * text sent to `/bin/sh -s` (one round trip): the shared lib.sh once, then each step in a subshell
 * of its own after its parameters as quoted `SR_*` assignments, so a step's `exit` ends only that
 * step and a failing step stops the phase.
 */

/** A script file under components/ as `<folder>/<name>` without `.sh`: `host/snapshot`, `hosts-access/probe`. */
export type HostScript = string;

/** components/ in the source tree and dist/components in the package: the scripts ship beside the code. */
const componentsDir = path.join(__dirname, "..");
const cache = new Map<string, string>();

export function scriptText(name: HostScript): string {
    let text = cache.get(name);
    if (text === undefined) {
        if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(name)) {
            throw new Error(`internal: host script ${name} is not <folder>/<kebab-case name>`);
        }
        text = fs.readFileSync(path.join(componentsDir, `${name}.sh`), "utf8");
        cache.set(name, text);
    }
    return text;
}

export interface Step {
    readonly script: HostScript;
    /**
     * SR_* parameters; every value passes the one quoting function. `{ script }` stands for that
     * host script's text (read when the phase is composed, so state holds the name, not the text).
     */
    readonly env?: Readonly<Record<string, string | number | { readonly script: HostScript }>>;
    /** Shell run after the step in the same subshell, e.g. to start sshd if it is still down. */
    readonly then?: string;
    /** When set, the step's output is framed by `step_begin=<label>` / `step_end=<label>` lines. */
    readonly label?: string;
    /** A failure of this step does not stop the phase (e.g. disarming what may have fired). */
    readonly optional?: boolean;
}

const envName = /^SR_[A-Z0-9_]+$/;

function assignments(env: Readonly<Record<string, string | number | { readonly script: HostScript }>>): string {
    return Object.entries(env).map(([k, v]) => {
        if (!envName.test(k)) {
            throw new Error(`internal: host script parameter name ${k} is not SR_[A-Z0-9_]+`);
        }
        const value = typeof v === "object" ? scriptText(v.script) : String(v);
        return `${k}=${shellQuote(value, k)}; export ${k}`;
    }).join("\n");
}

/**
 * A composed phase with parameters set for all of its steps, for values known only when the
 * phase is sent (the verifying connection, which only the login shows); same quoting as composePhase.
 */
export function withParameters(env: Readonly<Record<string, string | number>>, phase: string): string {
    return `${assignments(env)}\n${phase}`;
}

/** One phase: the steps in order, stopping at the first that fails. */
export function composePhase(steps: readonly Step[]): string {
    // lib.sh is defined once; every step's subshell inherits its functions and variables.
    // Not `( … ) || handler`: the shell ignores `set -e` inside anything left of `||`, so a
    // failing command in a step would not stop that step. The status is read on its own line.
    const body = steps.map((s) => [
        s.label === undefined ? "" : `printf 'step_begin=%s\\n' ${shellQuote(s.label)}`,
        "(",
        "set -eu",
        assignments(s.env ?? {}),
        marked(s.script),
        s.then ?? "",
        ")",
        "sr_rc=$?",
        s.optional ? "" : `[ "$sr_rc" -eq 0 ] || { printf 'failed_step=%s\\n' ${shellQuote(s.label ?? s.script)}; exit "$sr_rc"; }`,
        s.label === undefined ? "" : `printf 'step_end=%s\\n' ${shellQuote(s.label)}`,
    ].join("\n"));
    return ["set -u", marked("host/lib"), "set +e", ...body].join("\n");
}

/**
 * A host script inlined between marker comments, so a transport may keep it on the host once and
 * send a reference instead (the `tat` transport does); to /bin/sh the markers are comments.
 */
function marked(name: HostScript): string {
    return `# sshremedy-script ${name}\n${scriptText(name)}\n# sshremedy-script-end`;
}

/** The `key=value` lines a phase printed, in order (a key may repeat). */
export function parseKeyValues(stdout: string): [string, string][] {
    const out: [string, string][] = [];
    for (const line of stdout.split("\n")) {
        const m = /^([a-z][a-z0-9_]*)=(.*)$/.exec(line);
        if (m) {
            out.push([m[1], m[2]]);
        }
    }
    return out;
}

export function lastValue(pairs: readonly [string, string][], key: string): string | undefined {
    for (let i = pairs.length - 1; i >= 0; i--) {
        if (pairs[i][0] === key) {
            return pairs[i][1];
        }
    }
    return undefined;
}

/** The output each labelled step printed between its frame lines, by label. */
export function splitByStep(stdout: string): Map<string, string> {
    const out = new Map<string, string>();
    let current: string | undefined;
    let lines: string[] = [];
    for (const line of stdout.split("\n")) {
        const begin = /^step_begin=(.*)$/.exec(line);
        const end = /^step_end=(.*)$/.exec(line);
        if (begin) {
            current = begin[1];
            lines = [];
        } else if (end && end[1] === current) {
            out.set(current, lines.join("\n"));
            current = undefined;
        } else if (current !== undefined) {
            lines.push(line);
        }
    }
    return out;
}

/** Probes print file contents base64-encoded on one line (`sr_b64` in lib.sh). */
export function fromBase64(text: string): string {
    return Buffer.from(text, "base64").toString("utf8");
}

/** Lines removed (`- …`) and added (`+ …`), blank lines ignored: what `pulumi preview` shows as drift. */
export function lineDiff(before: string, after: string): string[] {
    const a = before.split("\n");
    const b = after.split("\n");
    const inA = new Set(a);
    const inB = new Set(b);
    return [
        ...a.filter((l) => !inB.has(l) && l.trim() !== "").map((l) => `- ${l}`),
        ...b.filter((l) => !inA.has(l) && l.trim() !== "").map((l) => `+ ${l}`),
    ];
}
