import * as path from "path";
import type { Concern, ConcernPlan } from "../core/concern";
import { fromBase64, lastValue, parseKeyValues, type Step } from "../core/compose";
import { DeclarationError } from "../core/errors";

/**
 * LoginKey: the declared login key's public half is in a file sshd reads for the user (the
 * connection's effective AuthorizedKeysFile, as `sshd -T -C` says), and that file and the
 * directories above it have the owner and modes StrictModes demands. The fix Azure's
 * reset-ssh-key and AWS's EC2Rescue apply by hand, done as a concern of the pipeline.
 */

export interface LoginKeyArgs {
    /** The login user. */
    readonly user: string;
    /** The key's public half, `<type> <base64>` (a comment after it is dropped). */
    readonly publicKey: string;
    /** sshd's -C connection spec for the verifying login (user=…,host=…,addr=…,laddr=…,lport=…). */
    readonly connection: string;
}

interface FileState {
    readonly path: string;
    readonly exists: boolean;
    readonly uid: number;
    readonly gid: number;
    readonly mode: number;
    readonly hasKey: boolean;
    /** Directories StrictModes checks for this file, nearest first. */
    readonly dirs: readonly { readonly path: string; readonly uid: number; readonly gid: number; readonly mode: number }[];
}

export interface LoginKeyProbe {
    readonly account: boolean;
    readonly uid: number;
    readonly gid: number;
    readonly home: string;
    /** Whether AuthorizedKeysFile came from sshd itself or is the default (sshd could not parse its config). */
    readonly source: "sshd" | "default";
    readonly strictModes: boolean;
    /**
     * Debian's OpenSSH accepts a path writable by the user's own private group (no other members);
     * upstream's StrictModes refuses any group-writable path.
     */
    readonly privateGroupWritableOk: boolean;
    readonly files: readonly FileState[];
    /** The AuthorizedKeysCommand sshd also asks for keys, the user it runs as, and whether it offers the login key. */
    readonly keysCommand?: { readonly command: string; readonly user: string; readonly offersKey: boolean };
}

export function parseLoginKeyProbe(stdout: string): LoginKeyProbe {
    const kv = parseKeyValues(stdout);
    const num = (k: string) => Number(lastValue(kv, k) ?? "-1");
    const files: FileState[] = [];
    let current: FileState | undefined;
    for (const [k, v] of kv) {
        if (k === "akf") {
            const [p, exists, uid, gid, mode, has] = v.split(" ");
            current = {
                path: fromBase64(p), exists: exists === "yes", uid: Number(uid), gid: Number(gid),
                mode: parseInt(mode, 8), hasKey: has === "yes", dirs: [],
            };
            files.push(current);
        } else if (k === "sm" && current) {
            const [p, uid, gid, mode] = v.split(" ");
            (current.dirs as FileState["dirs"][number][]).push({ path: fromBase64(p), uid: Number(uid), gid: Number(gid), mode: parseInt(mode, 8) });
        }
    }
    return {
        account: lastValue(kv, "account") === "present",
        uid: num("uid"), gid: num("gid"), home: lastValue(kv, "home") ?? "",
        source: lastValue(kv, "akf_source") === "sshd" ? "sshd" : "default",
        strictModes: lastValue(kv, "strictmodes") !== "no",
        privateGroupWritableOk: lastValue(kv, "private_group") === "yes" && lastValue(kv, "group_modes") === "debian",
        files,
        keysCommand: ((v) => v === undefined ? undefined
            : { command: fromBase64(v.split(" ")[0]), user: v.split(" ")[1] ?? "none", offersKey: v.split(" ")[2] === "yes" })(lastValue(kv, "akc")),
    };
}

const octal = (m: number) => m.toString(8).padStart(4, "0");

/** Pure: what must change so sshd accepts the key, with the evidence for each change. */
export function planLoginKey(probe: LoginKeyProbe, args: LoginKeyArgs): ConcernPlan {
    // An absent account is the account gate's report, not this one's.
    if (!probe.account) return { pending: false, drift: [], paths: [], apply: [], restartSshd: false };
    const drift: string[] = [];
    const env: Record<string, string> = { SR_OWNER: `${probe.uid}:${probe.gid}` };
    const chowns: string[] = [];
    const chmods: string[] = [];
    const paths = new Set<string>();
    const modes = new Set<string>();
    if (probe.keysCommand?.offersKey) {
        // The command sshd asks already offers the key: the files are not this gate's business.
        return { pending: false, drift: [], paths: [], apply: [], restartSshd: false };
    }
    if (probe.files.length === 0 && probe.keysCommand) {
        // Keys come only from a command (a directory service, a key broker): where it finds them
        // is not this host's file system, and replacing it with a file is the operator's call.
        throw new Error(`login-key: sshd takes ${args.user}'s keys only from AuthorizedKeysCommand ${probe.keysCommand.command} `
            + `(run as ${probe.keysCommand.user}; AuthorizedKeysFile none), and it does not offer the login key: nothing was changed. `
            + "Fix: add the key where that command looks it up, or set sshd.settings.authorizedKeysFile, e.g. \".ssh/authorized_keys\", "
            + "to let this project place it");
    }
    if (probe.files.length === 0) {
        throw new Error(`login-key: sshd reads no authorized keys file for ${args.user} (AuthorizedKeysFile none); `
            + "a key login needs one. Fix: set sshd.settings.authorizedKeysFile, e.g. \".ssh/authorized_keys\"");
    }
    const holder = probe.files.find((f) => f.hasKey);
    const target = holder ?? probe.files[0];
    const under = (p: string) => p === probe.home || p.startsWith(`${probe.home}/`);
    if (!holder) {
        const dir = path.posix.dirname(target.path);
        drift.push(`${target.path}: ${target.exists ? "does not hold" : "is absent, so it cannot hold"} the login key `
            + `${args.publicKey.split(" ")[0]} for ${args.user} (sshd reads ${probe.files.map((f) => f.path).join(", ")}`
            + `${probe.source === "sshd" ? ", as sshd -T says" : ", the default: sshd -T failed"}); add it`);
        if (!target.dirs.some((d) => d.path === dir)) {
            if (!under(dir) || path.posix.dirname(dir) !== probe.home) {
                throw new Error(`login-key: ${dir}, where sshd looks for ${args.user}'s keys, does not exist and is not a folder of the home `
                    + `${probe.home}; create it by hand with the owner and modes your layout needs, or point AuthorizedKeysFile elsewhere`);
            }
            env.SR_KEY_DIR = dir;
            paths.add(dir);
        }
        env.SR_KEY_FILE = target.path;
        env.SR_KEY_LINE = args.publicKey;
        paths.add(target.path);
    }
    if (probe.strictModes) {
        // sshd's secure_filename(): the file and each directory up to the home (or /) must be
        // owned by root or the user and writable by no one else.
        const owner = (p: string) => (under(p) ? `${probe.uid}:${probe.gid}` : "0:0");
        const check = (p: string, uid: number, gid: number, mode: number, what: string) => {
            const writable = (mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && !(gid === probe.gid && probe.privateGroupWritableOk));
            if (uid !== 0 && uid !== probe.uid) {
                drift.push(`${p}: ${what} owned by uid ${uid}, not ${args.user} or root, which StrictModes refuses; chown ${owner(p)}`);
                chowns.push(`${owner(p)}\t${p}`);
                modes.add(p);
            }
            if (writable) {
                drift.push(`${p}: ${what} mode ${octal(mode)} is group- or world-writable, which StrictModes refuses; chmod ${octal(mode & ~0o022)}`);
                chmods.push(`${octal(mode & ~0o022)}\t${p}`);
                modes.add(p);
            }
        };
        if (target.exists) check(target.path, target.uid, target.gid, target.mode, "the key file");
        for (const d of target.dirs) check(d.path, d.uid, d.gid, d.mode, "a directory above the key file");
    }
    if (chowns.length) env.SR_CHOWNS = chowns.join("\n");
    if (chmods.length) env.SR_CHMODS = chmods.join("\n");
    const pending = drift.length > 0;
    const apply: Step[] = pending ? [{ script: "login-key/apply", env }] : [];
    return { pending, drift, paths: [...paths], modes: [...modes], apply, restartSshd: false };
}

/** `<type> <base64>` of an OpenSSH public key line, or a DeclarationError at `argument`. */
export function publicKeyText(argument: string, line: string): string {
    const m = /^(?:\S+ )?((?:ssh|ecdsa|sk)-[a-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/.exec(line.trim());
    if (!m) {
        throw new DeclarationError(argument, "is not an OpenSSH public key", "give '<type> <base64>' as in id_ed25519.pub");
    }
    return `${m[1]} ${m[2]}`;
}

export function loginKeyConcern(args: LoginKeyArgs): Concern {
    const publicKey = publicKeyText("login.publicKey", args.publicKey);
    return {
        name: "login-key",
        probe: { script: "login-key/probe", env: { SR_USER: args.user, SR_KEY: publicKey, SR_CONNECT: args.connection } },
        plan: (out) => planLoginKey(parseLoginKeyProbe(out), { ...args, publicKey }),
        declaration: { user: args.user, publicKey, connection: args.connection },
    };
}

/**
 * The public half of an OpenSSH private key, from the machine's own `ssh-keygen -y` (at program
 * time, beside the ssh client the pipeline uses anyway). The key file lives only in a private
 * temporary folder for the call.
 */
export function derivePublicKey(privateKey: string): string {
    // A fleet declares one key for every host: ssh-keygen runs once per key, not once per host.
    const id = require("crypto").createHash("sha256").update(privateKey).digest("hex");
    let known = derivedKeys.get(id);
    if (known === undefined) {
        known = derivePublicKeyOnce(privateKey);
        derivedKeys.set(id, known);
    }
    return known;
}

/** Public halves already derived in this process, by the sha256 of the private key text. */
const derivedKeys = new Map<string, string>();

function derivePublicKeyOnce(privateKey: string): string {
    const cp: typeof import("child_process") = require("child_process");
    const fs: typeof import("fs") = require("fs");
    const os: typeof import("os") = require("os");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-key-"));
    try {
        const file = path.join(dir, "key");
        fs.writeFileSync(file, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
        const r = cp.spawnSync("ssh-keygen", ["-y", "-P", "", "-f", file], { encoding: "utf8", timeout: 10_000 });
        if (r.status !== 0) {
            throw new DeclarationError("login.privateKey", `ssh-keygen -y could not read it (${(r.stderr || r.error?.message || "").trim()})`,
                "give an OpenSSH private key without a passphrase (the verifying login runs unattended)");
        }
        return publicKeyText("login.privateKey", r.stdout);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
