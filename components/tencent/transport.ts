import type { ScriptResult } from "../core/transport";
import type { TencentSettings } from "./settings";
import { libraryInstallScripts, runTat, tatLibraryDir, type TatResult } from "./tat";
import { tencentRuntime } from "./api";

/**
 * The `tat` transport: a phase of the pipeline carried by TencentCloud Automation Tools, the
 * out-of-band channel that works when SSH is dead.
 *
 * A composed phase marks every host script it inlines (`# sshremedy-script <name>` … `#
 * sshremedy-script-end`). Here each marked script is kept on the host once, content-addressed
 * (`/var/lib/sshremedy/lib/<sha256>.sh`), and the phase sent is the small rest: its structure and
 * its parameters, with `. <library file>` where a script was. A host that has the library gets one
 * RunCommand per phase. The phase's output goes to files on the host and comes back in pieces
 * under TAT's 24 KB output limit, so a probe's output of any size arrives whole.
 */

/** A host reached through TAT: the instance, and the API settings (secret: the key is in them). */
export interface TatTarget {
    readonly kind: "tat";
    readonly instanceId: string;
    readonly settings: TencentSettings;
}

const scriptBlock = /^# sshremedy-script (\S+)\n([\s\S]*?)\n# sshremedy-script-end$/gm;
/** Bytes of output fetched per RunCommand: base64 of it stays under TAT's 24 KB. */
const outputPiece = 16_000;
/** Bytes of install chunks sent together in one RunCommand, at most (before base64: 48 KB is TAT's 64 KB). */
const installBatch = 46_000;

/** Splits a composed phase into its library scripts (by sha256) and the phase that sources them. Pure. */
export function byReference(phase: string): { phase: string; library: Map<string, string> } {
    const crypto: typeof import("crypto") = require("crypto");
    const library = new Map<string, string>();
    const small = phase.replace(scriptBlock, (_all, name: string, text: string) => {
        const sha = crypto.createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex");
        library.set(sha, text);
        return `. '${tatLibraryDir}/${sha}.sh' # ${name}`;
    });
    return { phase: small, library };
}

/** The library scripts this process already saw on an instance. */
function knownOn(instanceId: string): Set<string> {
    const runtime = tencentRuntime() as unknown as { tatLibrary?: Map<string, Set<string>> };
    runtime.tatLibrary ??= new Map();
    let known = runtime.tatLibrary.get(instanceId);
    if (!known) runtime.tatLibrary.set(instanceId, known = new Set());
    return known;
}

function failed(what: string, r: TatResult): Error {
    return new Error(`${what} through TAT (invocation ${r.invocationId}): ${r.status}, exit ${r.code}: ${(r.stderr || r.stdout).trim()}`);
}

/** Makes sure every library script is on the instance: one RunCommand to ask, then batches of the missing. */
async function installLibrary(t: TatTarget, library: Map<string, string>): Promise<void> {
    const known = knownOn(t.instanceId);
    const unknown = [...library.keys()].filter((sha) => !known.has(sha));
    if (unknown.length === 0) return;
    const ask = await runTat(t.settings, {
        instanceId: t.instanceId, timeoutSec: 60,
        script: [
            `for s in ${unknown.join(" ")}; do`,
            `  f='${tatLibraryDir}'/$s.sh`,
            '  if [ -f "$f" ] && [ "$(sha256sum "$f" | cut -d " " -f 1)" = "$s" ]; then touch "$f"; else echo "missing=$s"; fi',
            "done",
        ].join("\n"),
    });
    if (ask.code !== 0) throw failed(`reading the script library on ${t.instanceId}`, ask);
    const missing = [...ask.stdout.matchAll(/^missing=([0-9a-f]{64})$/gm)].map((m) => m[1]);
    unknown.filter((sha) => !missing.includes(sha)).forEach((sha) => known.add(sha));
    // Every script's install chunks, in order; consecutive chunks travel together in one
    // RunCommand while they fit (each chunk is a script of its own, run in a subshell).
    const chunks = missing.flatMap((sha) => libraryInstallScripts(library.get(sha)!).chunks.map((text) => ({ sha, text })));
    const batches: (typeof chunks)[] = [];
    for (const c of chunks) {
        const last = batches[batches.length - 1];
        const size = (b: typeof chunks) => b.reduce((n, x) => n + Buffer.byteLength(x.text, "utf8") + 4, 0);
        if (last && size(last) + Buffer.byteLength(c.text, "utf8") <= installBatch) last.push(c);
        else batches.push([c]);
    }
    for (const batch of batches) {
        const script = batch.map((c) => `(\n${c.text})\n[ "$?" -eq 0 ] || exit 1`).join("\n");
        const r = await runTat(t.settings, { instanceId: t.instanceId, script, timeoutSec: 120 });
        if (r.code !== 0) throw failed(`installing ${batch.length} library piece(s) on ${t.instanceId}`, r);
    }
    missing.forEach((sha) => known.add(sha));
}

/**
 * Runs a composed phase on the instance through TAT, like `runScript`: stdout and stderr apart,
 * the phase's exit code. Rejects when TAT cannot run it (agent offline: the error names the VNC
 * console and rescue mode).
 */
export async function runOverTat(t: TatTarget, script: string, timeoutMs: number): Promise<ScriptResult> {
    const crypto: typeof import("crypto") = require("crypto");
    const { phase, library } = byReference(script);
    await installLibrary(t, library);
    const run = `/var/lib/sshremedy/run/${crypto.randomBytes(8).toString("hex")}`;
    const b64 = Buffer.from(phase, "utf8").toString("base64").replace(/.{76}/g, "$&\n");
    const timeoutSec = Math.max(1, Math.min(86_400, Math.ceil(timeoutMs / 1000)));
    const first = await runTat(t.settings, {
        instanceId: t.instanceId, timeoutSec,
        script: [
            "umask 077",
            `mkdir -p /var/lib/sshremedy/run && base64 -d > '${run}.sh' <<'SSHREMEDY_PHASE_END'`,
            b64,
            "SSHREMEDY_PHASE_END",
            `/bin/sh '${run}.sh' > '${run}.out' 2> '${run}.err' < /dev/null`,
            `rc=$?; o=$(wc -c < '${run}.out'); e=$(wc -c < '${run}.err')`,
            'echo "sshremedy-run $rc $o $e"',
            `if [ $((o + e)) -le ${outputPiece} ]; then base64 -w0 '${run}.out'; echo; base64 -w0 '${run}.err'; echo; rm -f '${run}'.*; fi`,
        ].join("\n"),
    });
    const head = /^sshremedy-run (\d+) (\d+) (\d+)$/m.exec(first.stdout);
    if (first.code !== 0 || !head) {
        // Killed by its timeout, or cut off: a failed phase (the pipeline then puts the host back).
        return { code: first.code ?? null, stdout: "", stderr: failed(`running a phase on ${t.instanceId}`, first).message };
    }
    const [rc, outBytes, errBytes] = head.slice(1).map(Number);
    let stdout: string;
    let stderr: string;
    if (outBytes + errBytes <= outputPiece) {
        const [out = "", err = ""] = first.stdout.slice(head.index + head[0].length + 1).split("\n");
        stdout = Buffer.from(out, "base64").toString("utf8");
        stderr = Buffer.from(err, "base64").toString("utf8");
    } else {
        stdout = await fetchFile(t, `${run}.out`, outBytes);
        stderr = await fetchFile(t, `${run}.err`, errBytes);
        await runTat(t.settings, { instanceId: t.instanceId, timeoutSec: 30, script: `rm -f '${run}'.*` });
    }
    return { code: rc, stdout, stderr };
}

/** A file of `size` bytes on the instance, in pieces of 16,000 bytes, one RunCommand each. */
async function fetchFile(t: TatTarget, path: string, size: number): Promise<string> {
    const parts: Buffer[] = [];
    for (let at = 0; at < size; at += outputPiece) {
        const r = await runTat(t.settings, {
            instanceId: t.instanceId, timeoutSec: 30,
            script: `tail -c +${at + 1} '${path}' | head -c ${outputPiece} | base64 -w0`,
        });
        if (r.code !== 0) throw failed(`reading ${path} on ${t.instanceId}`, r);
        parts.push(Buffer.from(r.stdout.trim(), "base64"));
    }
    return Buffer.concat(parts).toString("utf8");
}
