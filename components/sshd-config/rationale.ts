/** Replace mode's section order and the one-line reason written above each directive. */
import type { SshdDirective } from "./validate";

export const SECTIONS = ["Network", "Host keys", "Limits", "Authentication", "Access control", "Session", "Other"] as const;
export type Section = (typeof SECTIONS)[number];

type Why = string | Readonly<Record<string, string>>;

const TABLE: Readonly<Record<string, readonly [Section, Why]>> = {
    port: ["Network", "The TCP port clients connect to."],
    addressfamily: ["Network", "IP families sshd binds; one the host lacks stops sshd from starting."],
    listenaddress: ["Network", "Only these addresses accept SSH connections."],
    hostkey: ["Host keys", "Keys that prove this host's identity to clients."],
    logingracetime: ["Limits", "Drops connections that have not logged in within this time."],
    maxstartups: ["Limits", "Unauthenticated connections allowed before sshd starts refusing; too low locks users out."],
    maxauthtries: ["Limits", "Attempts per connection; each offered key uses one, so too low fails clients with several keys."],
    maxsessions: ["Limits", "Shell and forwarding sessions multiplexed over one connection."],
    permitrootlogin: ["Authentication", {
        "prohibit-password": "Root may log in with a key only, never with a password.",
        no: "Root may not log in; use a named account and sudo.",
        yes: "Root may log in with a password too: declared explicitly, and weaker than keys.",
        "forced-commands-only": "Root may log in only with keys restricted to a forced command.",
    }],
    pubkeyauthentication: ["Authentication", { yes: "Keys are the login method.", no: "Key logins are off: declared explicitly." }],
    passwordauthentication: ["Authentication", {
        no: "Passwords can be guessed or phished; keys only.",
        yes: "Password logins are on: declared explicitly, keys are safer.",
    }],
    kbdinteractiveauthentication: ["Authentication", {
        no: "No PAM prompts, so PAM cannot become a second password path.",
        yes: "PAM prompts (such as one-time codes) are on: declared explicitly.",
    }],
    authenticationmethods: ["Authentication", "Method lists a login must complete."],
    authorizedkeysfile: ["Authentication", "Where users' public keys are read from."],
    strictmodes: ["Authentication", "Ignore key files that other users can write."],
    usepam: ["Authentication", "PAM account and session checks (expiry, limits, login records)."],
    allowusers: ["Access control", "Only these users may log in."],
    denyusers: ["Access control", "These users may never log in."],
    allowgroups: ["Access control", "Only members of these groups may log in."],
    denygroups: ["Access control", "Members of these groups may never log in."],
    printmotd: ["Session", "PAM prints the message of the day already; printing it twice helps nobody."],
    x11forwarding: ["Session", "No X11 forwarding unless a stack needs it."],
    acceptenv: ["Session", "Locale variables clients may pass."],
    subsystem: ["Session", "File transfer over SSH (sftp, and scp on OpenSSH 9)."],
    syslogfacility: ["Session", "Log to the facility the distribution's log rules expect."],
};

export function sectionOf(keyword: string): Section {
    return TABLE[keyword.toLowerCase()]?.[0] ?? "Other";
}

export function rationale(d: SshdDirective): string {
    const why = TABLE[d.keyword.toLowerCase()]?.[1];
    if (why === undefined) return `${d.keyword}: declared in the stack's extra settings.`;
    return typeof why === "string" ? why : why[d.lines[0]] ?? `${d.keyword} as declared in the stack.`;
}
