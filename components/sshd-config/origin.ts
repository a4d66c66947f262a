import { parseIp } from "../core/ip";
import { parseSource } from "../hosts-access/hosts-access";
import { lineKeyword } from "./keywords";

/**
 * Where an effective value comes from. sshd itself says what refuses the login (`sshd -T -C` for
 * the verifying connection, drop-ins and Match blocks applied); this module finds the lines that
 * produce that value, in the order sshd reads them, so the repair changes those lines and no
 * others. A line is only changed when the lines found reproduce exactly what sshd printed;
 * otherwise the plan says it could not place the value instead of guessing.
 */

/** The verifying connection, as `sshd -T -C` takes it. */
export interface Connection {
    readonly user: string;
    /** The user's groups on the host (`id -Gn`), primary first. */
    readonly groups: readonly string[];
    /** The client's address (the login's source). */
    readonly addr: string;
    readonly laddr: string;
    readonly lport: number;
}

export interface ConfigLine {
    readonly file: string;
    /** 0-based line number in its file. */
    readonly index: number;
    readonly keyword: string;
    readonly args: readonly string[];
    /** The Match block the line is in (its criteria line's position), or undefined in the global section. */
    readonly match?: { readonly file: string; readonly index: number; readonly applies: boolean };
}

const tokens = (line: string) => line.trim().split(/[\s=]+/).filter(Boolean);

/**
 * Every directive in the order sshd reads it: the main file, with the included files spliced in
 * at their Include line; a Match block ends at the next Match or at the end of its file.
 */
export function readOrder(main: { path: string; text: string }, dropIns: readonly { path: string; text: string }[], conn: Connection): ConfigLine[] {
    const out: ConfigLine[] = [];
    let included = false;
    const walk = (file: string, text: string) => {
        let match: ConfigLine["match"];
        text.split("\n").forEach((raw, index) => {
            const line = raw.trim();
            const keyword = lineKeyword(line);
            if (!keyword || line.startsWith("#")) return;
            const args = tokens(line).slice(1);
            if (keyword === "match") {
                match = { file, index, applies: matchApplies(args, conn) };
                return;
            }
            if (keyword === "include") {
                // The host's probe lists the included files in the order sshd reads them.
                if (!included) dropIns.forEach((d) => walk(d.path, d.text));
                included = true;
                return;
            }
            out.push({ file, index, keyword, args, match });
        });
    };
    walk(main.path, main.text);
    return out;
}

/** sshd_config(5) PATTERNS: comma-separated, `*` and `?`, a leading `!` negates (a negated match fails the list). */
function patternList(list: string, value: string, cidr = false): boolean {
    let hit = false;
    for (const raw of list.split(",")) {
        const neg = raw.startsWith("!");
        const p = neg ? raw.slice(1) : raw;
        let ok: boolean;
        if (cidr && p.includes("/")) {
            const net = parseSource(p);
            const ip = parseIp(value);
            ok = !!net && !!ip && ip.family === net.family && ip.value >= net.lo && ip.value <= net.hi;
        } else {
            ok = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i").test(value);
        }
        if (ok && neg) return false;
        hit ||= ok;
    }
    return hit;
}

/** Whether a Match line's criteria hold for the connection (sshd_config(5) Match). */
export function matchApplies(args: readonly string[], conn: Connection): boolean {
    for (let i = 0; i < args.length; i++) {
        const what = args[i].toLowerCase();
        if (what === "all") continue;
        const value = args[++i] ?? "";
        const ok = what === "user" ? patternList(value, conn.user)
            : what === "group" ? conn.groups.some((g) => patternList(value, g))
                : what === "host" ? patternList(value, conn.addr)
                    : what === "address" ? patternList(value, conn.addr, true)
                        : what === "localaddress" ? patternList(value, conn.laddr, true)
                            : what === "localport" ? patternList(value, String(conn.lport))
                                : false;
        if (!ok) return false;
    }
    return true;
}

const LISTS = new Set(["allowusers", "denyusers", "allowgroups", "denygroups", "listenaddress"]);

/**
 * The lines that give `keyword` its effective value for the connection: a list keyword takes
 * every global line, unless an applying Match block sets it (then that block's lines); any other
 * keyword takes its first global line, unless an applying Match block sets it first.
 */
export function setters(lines: readonly ConfigLine[], keyword: string): ConfigLine[] {
    const mine = lines.filter((l) => l.keyword === keyword);
    const inMatch = mine.filter((l) => l.match?.applies);
    if (inMatch.length > 0) {
        const first = inMatch[0].match!;
        const block = inMatch.filter((l) => l.match!.file === first.file && l.match!.index === first.index);
        return LISTS.has(keyword) ? block : [block[0]];
    }
    const global = mine.filter((l) => !l.match);
    return LISTS.has(keyword) ? global : global.slice(0, 1);
}

/** One line to change, with why (for the drift and the comment left above it). */
export interface LineEdit {
    readonly file: string;
    readonly index: number;
    readonly keyword: string;
    /** The directive that replaces the line, or null to comment it out. */
    readonly replacement: string | null;
    readonly why: string;
}

export interface AdmitLogin {
    readonly method: "key" | "password";
}

/**
 * The least edits, at the lines that set them, that stop sshd's effective values (`effective`,
 * from `sshd -T -C`) from refusing the login; and what could not be placed.
 */
export function admitEdits(lines: readonly ConfigLine[], effective: ReadonlyMap<string, string[]>, conn: Connection, login: AdmitLogin):
    { edits: LineEdit[]; unplaced: string[]; reports: string[] } {
    const edits: LineEdit[] = [];
    const unplaced: string[] = [];
    const reports: string[] = [];
    const eff = (k: string) => effective.get(k) ?? [];
    const place = (keyword: string, refusal: string, fix: (l: ConfigLine) => string | null, agrees: (found: ConfigLine[]) => boolean) => {
        const found = setters(lines, keyword);
        if (found.length === 0 || !agrees(found)) {
            unplaced.push(`${refusal}: sshd -T says so, but no line read in sshd's order gives that value`);
            return;
        }
        for (const l of found) {
            const replacement = fix(l);
            const where = l.match ? ` (in the Match block at ${l.match.file}:${l.match.index + 1})` : "";
            edits.push({ file: l.file, index: l.index, keyword, replacement, why: `${refusal}${where}` });
        }
    };
    const sameList = (found: ConfigLine[], k: string) =>
        JSON.stringify(found.flatMap((l) => l.args.flatMap((a) => a.split(","))).map((x) => x.toLowerCase()).sort())
        === JSON.stringify(eff(k).flatMap((a) => a.split(",")).map((x) => x.toLowerCase()).sort());
    const sameValue = (found: ConfigLine[], k: string) => (found[0].args[0] ?? "").toLowerCase() === (eff(k)[0] ?? "").toLowerCase();
    const directive = (l: ConfigLine, args: readonly string[]) => `${l.keyword === "allowusers" ? "AllowUsers" : l.keyword === "denyusers" ? "DenyUsers"
        : l.keyword === "allowgroups" ? "AllowGroups" : l.keyword === "denygroups" ? "DenyGroups" : l.keyword} ${args.join(" ")}`;

    // Deny lists: the patterns that name the user (or a group of the user) go; an empty line goes.
    for (const [k, names] of [["denyusers", [conn.user]], ["denygroups", conn.groups]] as const) {
        const hits = eff(k).filter((p) => names.some((n) => patternList(p.split("@")[0], n)));
        if (hits.length === 0) continue;
        place(k, `${k === "denyusers" ? "DenyUsers" : "DenyGroups"} ${hits.join(" ")} refuses ${conn.user}`, (l) => {
            const rest = l.args.filter((a) => !names.some((n) => patternList(a.split("@")[0], n)));
            return rest.length > 0 ? directive(l, rest) : null;
        }, (f) => sameList(f, k));
    }
    // Allow lists that leave the login out: the user (or its primary group) is added where the list is set.
    const allowUsers = eff("allowusers");
    if (allowUsers.length > 0 && !allowUsers.some((p) => patternList(p.split("@")[0], conn.user))) {
        place("allowusers", `AllowUsers ${allowUsers.join(" ")} leaves out ${conn.user}`,
            (l) => directive(l, [...l.args, conn.user]), (f) => sameList(f, "allowusers"));
    }
    const allowGroups = eff("allowgroups");
    if (allowGroups.length > 0 && !conn.groups.some((g) => allowGroups.some((p) => patternList(p, g)))) {
        const group = conn.groups[0] ?? conn.user;
        place("allowgroups", `AllowGroups ${allowGroups.join(" ")} leaves out every group of ${conn.user}`,
            (l) => directive(l, [...l.args, group]), (f) => sameList(f, "allowgroups"));
    }
    // The login's method switched off.
    const method = login.method === "key" ? "pubkeyauthentication" : "passwordauthentication";
    if ((eff(method)[0] ?? "yes") === "no") {
        const name = login.method === "key" ? "PubkeyAuthentication" : "PasswordAuthentication";
        place(method, `${name} no refuses the ${login.method} login`, () => `${name} yes`, (f) => sameValue(f, method));
    }
    if (conn.user === "root") {
        const prl = eff("permitrootlogin")[0] ?? "prohibit-password";
        const refuses = login.method === "password" ? prl !== "yes" : prl === "no" || prl === "forced-commands-only";
        if (refuses) {
            place("permitrootlogin", `PermitRootLogin ${prl} refuses root's ${login.method} login`,
                () => `PermitRootLogin ${login.method === "password" ? "yes" : "prohibit-password"}`, (f) => sameValue(f, "permitrootlogin"));
        }
    }
    const tries = Number(eff("maxauthtries")[0] ?? "6");
    if (tries < 6) {
        place("maxauthtries", `MaxAuthTries ${tries} ends the login before an agent's right key`, () => "MaxAuthTries 6", (f) => sameValue(f, "maxauthtries"));
    }
    // sshd not listening on the login's port: the port is added beside the ones it has (Port
    // lines add up), on the first line that sets one; sshd's default 22 has no line to place.
    const ports = eff("port");
    if (ports.length > 0 && !ports.includes(String(conn.lport))) {
        place("port", `sshd listens on port ${ports.join(", ")}, not on ${conn.lport} where the login connects`,
            (l) => `Port ${l.args[0]}\nPort ${conn.lport}`, (f) => sameList(f, "port"));
    }
    // A ListenAddress with a port of its own overrides Port for that address: when every address
    // sshd listens on carries another port, the login's port is added beside each such line.
    const listens = eff("listenaddress");
    const withPort = setters(lines, "listenaddress").filter((l) => listenPort(l.args[0] ?? "") !== undefined);
    if (listens.length > 0 && withPort.length > 0 && !listens.some((a) => listenPort(a) === conn.lport)) {
        place("listenaddress", `sshd listens on ${listens.join(", ")} only (a ListenAddress with its own port overrides Port), not on port ${conn.lport} where the login connects`,
            (l) => {
                const a = l.args[0] ?? "";
                const p = listenPort(a);
                return p === undefined ? `ListenAddress ${l.args.join(" ")}`
                    : `ListenAddress ${l.args.join(" ")}\nListenAddress ${a.slice(0, a.lastIndexOf(":"))}:${conn.lport}`;
            }, (f) => f.every((l) => listenPort(l.args[0] ?? "") === undefined || listens.includes(l.args[0])));
    }
    // What stands in the login's way but is a human's call (a session policy, not a lockout by
    // mistake): reported with the line that sets it, and nothing is changed.
    const at = (k: string) => {
        const l = setters(lines, k)[0];
        return l ? `${l.file}:${l.index + 1}${l.match ? ` (Match block at line ${l.match.index + 1})` : ""}` : "a line sshd reads";
    };
    const force = eff("forcecommand").join(" ");
    if (force !== "" && force !== "none") {
        reports.push(`ForceCommand ${force} (${at("forcecommand")}) runs instead of any shell or command for ${conn.user}, so no login of theirs `
            + "can be verified; remove or narrow that Match block by hand if the login should get a shell");
    }
    const chroot = eff("chrootdirectory").join(" ");
    if (chroot !== "" && chroot !== "none") {
        reports.push(`ChrootDirectory ${chroot} (${at("chrootdirectory")}) confines ${conn.user}'s sessions; a chroot without a shell and `
            + "libraries inside, or not owned by root at every level, ends the session: check it by hand, or exclude the user from that Match block");
    }
    const methods = eff("authenticationmethods");
    const mine = login.method === "key" ? "publickey" : "password";
    if (methods.length > 0 && methods[0] !== "any"
        && !methods.join(" ").split(/\s+/).some((list) => list.split(",").every((m) => m === mine || (mine === "password" && m === "keyboard-interactive")))) {
        reports.push(`AuthenticationMethods ${methods.join(" ")} (${at("authenticationmethods")}) needs more than the ${login.method} `
            + `the login has; declare the methods to allow (sshd.settings.authenticationMethods) or give the login what it asks for`);
    }
    return { edits, unplaced, reports };
}

/** Applies edits to one file's text: each changed line keeps its place, with the reason above it. */
/** The port of a ListenAddress value that carries one (`0.0.0.0:2222`, `[::1]:2222`), else undefined. */
export function listenPort(value: string): number | undefined {
    const m = /^(?:\[[^\]]+\]|[^:\[\]]+):(\d+)$/.exec(value);
    return m ? Number(m[1]) : undefined;
}

export function applyEdits(text: string, edits: readonly LineEdit[]): string {
    const lines = text.split("\n");
    for (const e of [...edits].sort((a, b) => b.index - a.index)) {
        const old = lines[e.index];
        const indent = /^\s*/.exec(old)?.[0] ?? "";
        const note = `${indent}# sshremedy: ${e.why}; was: ${old.trim()}`;
        lines.splice(e.index, 1, note, ...(e.replacement === null ? [] : e.replacement.split("\n").map((r) => `${indent}${r}`)));
    }
    return lines.join("\n");
}

/** `sshd -T` output as keyword → values (a keyword printed on several lines keeps each line's value). */
export function effectiveValues(text: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const line of text.split("\n")) {
        const [k, ...rest] = line.trim().split(/\s+/);
        if (!k) continue;
        out.set(k.toLowerCase(), [...(out.get(k.toLowerCase()) ?? []), ...rest]);
    }
    return out;
}

/** Whether 0-based line `index` of a file's text is inside a Match block. */
export function insideMatch(text: string, index: number): boolean {
    return text.split("\n").slice(0, index).some((l) => lineKeyword(l.trim()) === "match" && !l.trim().startsWith("#"));
}
