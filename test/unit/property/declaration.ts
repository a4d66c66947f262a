/**
 * Whole SshAccess declarations: every part valid, or with hostile values put into 1 to 3 of
 * them, each recorded with its argument path and the verdict it must get.
 */
import fc from "fast-check";
import type { KnownSshAccessArgs } from "../../../components/ssh-access";
import type { SshdSettings } from "../../../components/sshd-config/validate";
import {
    absolutePath, badPath, badSource, badUserName, hasLoneSurrogate, hostileNumber, hostileString, ip, port, source, spoiled, userName,
    wrongType,
} from "./arbitraries";
import { hostileSettings, type Injection, validSettings, type Verdict } from "./settings";

/** A real ed25519 public key, and the same with a comment. */
export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHEDJfkUeK4KPf8lAppOmWBevO4KcCRSOtvcUdVT3RFx";

const userVerdict = (v: unknown): Verdict =>
    (typeof v === "string" && /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(v) && v.length <= 32 ? "valid" : "bad");
const intIn = (min: number, max: number) => (v: unknown): Verdict =>
    (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? "valid" : "bad");
/** An address or CIDR: anything but address characters is bad; the grammar decides the rest. */
const addressVerdict = (cidr: boolean) => (v: unknown): Verdict =>
    (typeof v !== "string" || v === "" || (cidr ? /[^0-9A-Fa-f:./]/ : /[^0-9A-Fa-f:.]/).test(v) ? "bad" : "either");
const listOf = (item: (v: unknown) => Verdict, empty: Verdict = "valid") => (v: unknown): Verdict => {
    if (!Array.isArray(v)) return "bad";
    if (v.length === 0) return empty;
    const vs = v.map(item);
    return vs.includes("bad") ? "bad" : vs.every((x) => x === "valid") ? "valid" : "either";
};
/** A path the host's scripts take: absolute, one line, no `.` or `..` component, text UTF-8 can carry. */
const hostPathVerdict = (v: unknown): Verdict => {
    if (typeof v !== "string" || !v.startsWith("/") || /[\t\n\0]/.test(v) || hasLoneSurrogate(v)) return "bad";
    return v.split("/").some((c) => c === "." || c === "..") ? "bad" : "either";
};
/** Text sent to the host whole (hosts.allow content): anything UTF-8 can carry, NUL aside. */
const textVerdict = (v: unknown): Verdict => (typeof v !== "string" || v.includes("\0") || hasLoneSurrogate(v) ? "bad" : "either");

function listWith<T>(validItem: fc.Arbitrary<T>, hostileItem: fc.Arbitrary<unknown>): fc.Arbitrary<unknown[]> {
    return fc.tuple(fc.array(validItem, { maxLength: 3 }), hostileItem, fc.nat())
        .map(([xs, h, at]) => [...xs.slice(0, at % (xs.length + 1)), h, ...xs.slice(at % (xs.length + 1))]);
}

const hostsEntries = {
    allow: fc.constantFrom("sshd: 10.0.0.0/255.0.0.0", "ALL: LOCAL", "sshd: .example.com", "sshd: [2001:db8::]/32", "in.telnetd: 192.0.2.0/24"),
    deny: fc.constantFrom("in.telnetd: ALL", "vsftpd: ALL", "ALL: PARANOID EXCEPT LOCAL", "rpcbind: ALL"),
};
const hostsFile = (which: "allow" | "deny") => fc.oneof(
    fc.array(hostsEntries[which], { minLength: 1, maxLength: 3 }).map((entries) => ({ kind: "entries" as const, entries })),
    fc.array(hostsEntries[which], { maxLength: 3 }).map((xs) => ({ kind: "content" as const, text: xs.map((x) => `${x}\n`).join("") })),
);

const distro = fc.record({
    id: fc.constantFrom("debian", "ubuntu", "rhel", "rocky", "almalinux", "fedora", "tencentos", "alpine"),
    version: fc.constantFrom("12", "10", "22.04", "24.04", "9", "9.3", "8", "3.19"),
}, { requiredKeys: ["id"] });

export interface GeneratedDeclaration {
    readonly args: KnownSshAccessArgs;
    readonly injections: readonly Injection[];
}

type Mutable = Record<string, unknown> & { login: Record<string, unknown> };

/** One hostile value put into a declaration: a function that writes it and returns what it wrote. */
type Inject = (d: Mutable) => Injection;

const at = (path: string, value: unknown, verdict: Verdict, blame: readonly string[] = []): Injection & { blame: readonly string[] } =>
    ({ path, value, verdict, blame });

/** The declaration parts made hostile, each with the verdict its value must get. */
const injections: fc.Arbitrary<Inject> = fc.oneof(
    fc.oneof(badSource, hostileString, wrongType, spoiled(ip)).map((v): Inject => (d) => {
        d.login.address = v;
        return at("login.address", v, addressVerdict(false)(v));
    }),
    fc.oneof(badUserName, hostileString, wrongType, userName).map((v): Inject => (d) => {
        d.login.user = v;
        return at("login.user", v, userVerdict(v));
    }),
    hostileNumber.map((v): Inject => (d) => {
        d.login.port = v;
        return at("login.port", v, intIn(1, 65535)(v));
    }),
    fc.oneof(wrongType, listWith(source, fc.oneof(badSource, hostileString, wrongType))).map((v): Inject => (d) => {
        d.login.sources = v;
        // The first source is the verifying login's: the firewall's allow list and the declared
        // hosts.allow/deny are checked against it.
        return at("login.sources", v, listOf(addressVerdict(true))(v), ["firewall.allow", "hostsAccess"]);
    }),
    fc.oneof(hostileString, wrongType, spoiled(fc.constant(HOST_KEY)), fc.constant(`${HOST_KEY} root@$(reboot)\`id\`'"`),
        fc.constant("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHEDJfkUeK4KPf8lAppOmWBevO4KcCRSOtvcUdVT3RFx")).map((v): Inject => (d) => {
        d.login.hostKey = v;
        return at("login.hostKey", v, typeof v === "string" ? "either" : "bad");
    }),
    fc.oneof(wrongType, listWith(source, fc.oneof(badSource, hostileString))).map((v): Inject => (d) => {
        d.firewall = { allow: v };
        // An empty list builds no firewall concern (the policy pack flags it): accepted at the edge.
        return at("firewall.allow", v, listOf(addressVerdict(true), "either")(v));
    }),
    fc.tuple(fc.constantFrom("allow", "deny"), fc.oneof(
        listWith(hostsEntries.allow, fc.oneof(hostileString, fc.constantFrom("sshd: ALL", "# sshd: ALL", "sshd ALL", "sshd: ALL\nALL: ALL", "sshd: 1.2.3.4\0")))
            .map((entries) => ({ kind: "entries" as const, entries })),
        hostileString.map((text) => ({ kind: "content" as const, text })),
    )).map(([which, decl]): Inject => (d) => {
        d.hostsAccess = { ...(typeof d.hostsAccess === "object" ? d.hostsAccess : {}), [which]: decl };
        const verdict: Verdict = decl.kind === "content" ? textVerdict(decl.text)
            : (decl.entries as unknown[]).some((e) => typeof e !== "string" || /[\r\n\0]/.test(e) || hasLoneSurrogate(e)) ? "bad" : "either";
        return at(`hostsAccess.${which}`, decl, verdict, ["login.sources"]);
    }),
    fc.oneof(hostileString, wrongType, fc.constantFrom("sshd", "in.sshd", "sshd-session")).map((v): Inject => (d) => {
        d.hostsAccess = { ...(typeof d.hostsAccess === "object" ? d.hostsAccess : {}), daemon: v };
        // null is no daemon given: the default, sshd.
        return at("hostsAccess.daemon", v, v === null || (typeof v === "string" && /^[A-Za-z0-9._-]+$/.test(v)) ? "either" : "bad", ["hostsAccess"]);
    }),
    fc.oneof(hostileString, wrongType, fc.constantFrom("enforcing", "permissive", "disabled", "Enforcing", "off")).map((v): Inject => (d) => {
        d.selinux = { ...(typeof d.selinux === "object" ? d.selinux : {}), mode: v };
        // null, like undefined, is the default (`??`).
        return at("selinux.mode", v, v === null || ["enforcing", "permissive", "disabled"].includes(v as string) ? "valid" : "bad");
    }),
    fc.oneof(wrongType, listWith(userName, fc.oneof(badUserName, hostileString))).map((v): Inject => (d) => {
        d.selinux = { ...(typeof d.selinux === "object" ? d.selinux : {}), relabelUsers: v };
        return at("selinux.relabelUsers", v, v === null ? "valid" : listOf(userVerdict)(v));
    }),
    fc.oneof(badPath, hostileString, wrongType, absolutePath).map((v): Inject => (d) => {
        d.selinux = { ...(typeof d.selinux === "object" ? d.selinux : {}), configPath: v };
        return at("selinux.configPath", v, v === null || (typeof v === "string" && v.startsWith("/") && !/[\n\0]/.test(v) && !hasLoneSurrogate(v)) ? "either" : "bad");
    }),
    fc.tuple(fc.constantFrom("pamService", "packageDirs", "sources.path", "sources.from"), fc.oneof(badPath, hostileString, absolutePath))
        .map(([field, v]): Inject => (d) => {
            const runtime: Record<string, unknown> = { ...(typeof d.runtime === "object" ? d.runtime : {}) };
            if (field === "pamService") runtime.pamService = v;
            else if (field === "packageDirs") runtime.packageDirs = ["/var/cache/apt/archives", v];
            else runtime.sources = [field === "sources.path" ? { path: v, from: "/mnt/rescue/lib/libc.so.6" } : { path: "/lib/libc.so.6", from: v }];
            d.runtime = runtime;
            return at(`runtime.${field.split(".")[0]}`, v, hostPathVerdict(v));
        }),
    fc.oneof(badPath, hostileString, wrongType, absolutePath, fc.constantFrom("/bin/bash", "/usr/sbin/nologin", "/bin/false", "bash")).map((v): Inject => (d) => {
        d.account = { ...(typeof d.account === "object" ? d.account : {}), shell: v };
        const plain = typeof v === "string" && /^\/[^\s:\0]+$/.test(v) && !v.endsWith("/") && !v.split("/").some((s) => s === "." || s === "..");
        const refusing = typeof v === "string" && /\/(nologin|false)$/.test(v);
        return at("account.shell", v, !plain || refusing || hasLoneSurrogate(v as string) || (v as string).length > 256 ? "bad" : "either");
    }),
    fc.tuple(fc.constantFrom("unlock", "removeNologin"), fc.oneof(wrongType, fc.boolean())).map(([k, v]): Inject => (d) => {
        d.account = { ...(typeof d.account === "object" ? d.account : {}), [k]: v };
        return at(`account.${k}`, v, typeof v === "boolean" ? "valid" : "bad");
    }),
    hostileNumber.map((v): Inject => (d) => {
        d.deadmanWindowSec = v;
        return at("deadmanWindowSec", v, intIn(10, 3600)(v));
    }),
    hostileNumber.map((v): Inject => (d) => {
        d.snapshotsKept = v;
        return at("snapshotsKept", v, intIn(1, 100)(v));
    }),
    hostileNumber.map((v): Inject => (d) => {
        d.lockWaitSec = v;
        return at("lockWaitSec", v, intIn(1, 3600)(v));
    }),
    fc.oneof(badPath, hostileString, wrongType, absolutePath).map((v): Inject => (d) => {
        d.sshd = { ...(d.sshd as object), configPath: v };
        return at("sshd.configPath", v, typeof v === "string" && /^\/[A-Za-z0-9._/-]+$/.test(v) ? "either" : "bad");
    }),
    fc.oneof(
        wrongType, fc.constant({ kind: "replace" }), fc.constant({ kind: "Managed" }), fc.constant({ kind: "replace", distro: {} }),
        fc.tuple(fc.constantFrom("id", "version"), fc.oneof(hostileString, fc.constantFrom("debian\nPermitRootLogin yes", "12\nMatch all", "debian 12")))
            .map(([k, v]) => ({ kind: "replace", distro: { id: "debian", version: "12", [k]: v } })),
    ).map((v): Inject => (d) => {
        d.sshd = { ...(d.sshd as object), mode: v };
        const m = v as { kind?: unknown; distro?: Record<string, unknown> } | null;
        const good = (x: unknown) => typeof x === "string" && /^[A-Za-z0-9._-]+$/.test(x);
        const ok = typeof m === "object" && m !== null && (m.kind === "managed"
            || (m.kind === "replace" && typeof m.distro === "object" && m.distro !== null && good(m.distro.id)
                && (m.distro.version === undefined || good(m.distro.version))));
        return at("sshd.mode", v, ok || v === null ? "valid" : "bad");
    }),
);

export const declarationPath = fc.oneof(
    fc.constant(undefined), fc.nat({ max: 500 }).map((i) => `sshremedy:hosts[${i}]`), fc.constantFrom("hosts[2]", "fleet.web[0]"),
);

/** A valid SshAccess declaration (with a key login whose public half is known). */
export function validDeclaration(): fc.Arbitrary<Mutable> {
    return fc.record({
        address: ip,
        user: userName,
        port: fc.option(port, { nil: undefined }),
        sources: fc.array(source, { maxLength: 3 }),
        hostKey: fc.option(fc.constantFrom(HOST_KEY, `${HOST_KEY} root@web-1 $(x) 'y'`), { nil: undefined }),
        method: fc.constantFrom("key", "password"),
        firewall: fc.oneof(fc.constant(undefined), fc.constant(false), fc.array(source, { maxLength: 2 })),
        hostsAccess: fc.oneof(fc.constant(undefined), fc.constant(false),
            fc.record({ allow: hostsFile("allow"), deny: hostsFile("deny"), daemon: fc.constantFrom("sshd", "in.sshd") }, { requiredKeys: [] })),
        selinux: fc.oneof(fc.constant(undefined), fc.constant(false), fc.record({
            mode: fc.constantFrom("enforcing", "permissive", "disabled"), relabelUsers: fc.array(userName, { maxLength: 2 }), configPath: absolutePath,
        }, { requiredKeys: [] })),
        runtime: fc.oneof(fc.constant(undefined), fc.constant(false), fc.record({
            sources: fc.array(fc.record({ path: absolutePath, from: absolutePath }), { maxLength: 2 }),
            packageDirs: fc.array(absolutePath, { maxLength: 2 }), pamService: absolutePath,
        }, { requiredKeys: [] })),
        account: fc.oneof(fc.constant(undefined), fc.constant(false), fc.record({
            shell: fc.constantFrom("/bin/bash", "/bin/sh", "/usr/bin/zsh", "/opt/$(odd)/sh"), unlock: fc.boolean(), removeNologin: fc.boolean(),
        }, { requiredKeys: [] })),
        authorizedKeys: fc.constantFrom(undefined, false),
        deadmanWindowSec: fc.option(fc.integer({ min: 10, max: 3600 }), { nil: undefined }),
        snapshotsKept: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
        mode: fc.oneof(fc.constant(undefined), fc.constant({ kind: "managed" as const }), distro.map((d) => ({ kind: "replace" as const, distro: d }))),
        configPath: fc.option(absolutePath.filter((p) => /^\/[A-Za-z0-9._/-]+$/.test(p)), { nil: undefined }),
    }).chain((d) => validSettings({ withMatch: d.mode?.kind === "replace" }).map((settings) => ({ d, settings })))
        .map(({ d, settings }) => {
            const s: Record<string, unknown> = { ...settings };
            // One port: the login's, or sshd's.
            if (d.port !== undefined) delete s.port;
            const sources = d.sources;
            return {
                login: {
                    address: d.address, user: d.user, port: d.port, sources, hostKey: d.hostKey,
                    ...(d.method === "key" ? { privateKey: "(key)", publicKey: HOST_KEY } : { password: "(password)" }),
                },
                // The firewall must admit the verifying source (the first).
                firewall: Array.isArray(d.firewall) ? { allow: [...sources.slice(0, 1), ...d.firewall] } : d.firewall,
                hostsAccess: d.hostsAccess, selinux: d.selinux, runtime: d.runtime, account: d.account, authorizedKeys: d.authorizedKeys,
                deadmanWindowSec: d.deadmanWindowSec, snapshotsKept: d.snapshotsKept,
                sshd: { settings: s as SshdSettings, ...(d.mode ? { mode: d.mode } : {}), ...(d.configPath ? { configPath: d.configPath } : {}) },
            } as Mutable;
        });
}

/** A declaration with 0 to 3 hostile parts: in the sshd settings, or anywhere else. */
export function hostileDeclaration(): fc.Arbitrary<GeneratedDeclaration> {
    return fc.tuple(validDeclaration(), fc.array(injections, { maxLength: 3 }), fc.option(hostileSettings({ withMatch: false }), { nil: undefined, freq: 3 }))
        .map(([base, injects, hostileS]) => {
            const d: Mutable = { ...base, login: { ...base.login }, sshd: { ...(base.sshd as object) } };
            const written: Array<Injection & { blame?: readonly string[] }> = injects.map((inject) => inject(d));
            // A later injection may replace an earlier one's value: keep the last at each path.
            const done = written.filter((x, i) => !written.slice(i + 1).some((y) => y.path === x.path));
            if (hostileS !== undefined) {
                const sshd = d.sshd as Record<string, unknown>;
                const mode = sshd.mode as { kind?: string } | undefined;
                // Match blocks are written in replace mode only.
                sshd.settings = { ...hostileS.settings, ...(mode?.kind === "replace" ? { match: (sshd.settings as SshdSettings).match } : {}) };
                done.push(...hostileS.injections.map((i) => ({ ...i, path: `sshd.settings.${i.path}`, blame: i.path === "port" ? ["login.port"] : [] })));
                // One port, unless login.port was made hostile (then a differing sshd port is blamed on it).
                if (!done.some((x) => x.path === "login.port") && typeof (sshd.settings as SshdSettings).port === "number") d.login.port = undefined;
            }
            let last = done;
            // login.port made hostile beside a declared sshd port: a valid one that differs is refused, naming login.port.
            if ((d.sshd as { settings?: SshdSettings }).settings?.port !== undefined) {
                last = last.map((x) => (x.path === "login.port" && x.verdict === "valid" ? { ...x, verdict: "either" as const } : x));
            }
            // Known gap, reported: without login.sources SshAccess builds no hosts-access concern, and
            // leaves its declaration unchecked (a bad hostsAccess is refused once sources are added).
            if (Array.isArray(d.login.sources) && d.login.sources.length === 0) {
                last = last.map((x) => (x.path.startsWith("hostsAccess") && x.verdict === "bad" ? { ...x, verdict: "either" as const } : x));
            }
            // Cross-field refusals name the other argument: each injection lists those it may be blamed on.
            const expanded = last.flatMap((x) => [x, ...(x.blame ?? []).map((b) => ({ path: b, value: x.value, verdict: "either" as const }))]);
            return { args: d as unknown as KnownSshAccessArgs, injections: expanded };
        });
}
