import * as dgram from "dgram";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Concern, ConcernPlan } from "../core/concern";
import { composePhase, splitByStep } from "../core/compose";
import { spawnCollect } from "../core/spawner";
import { CommandTarget, describeTarget, runScript, sshAuthentication } from "../core/transport";
import { sshAccessConcerns } from "../ssh-access";
import { derivePublicKey } from "../login-key/login-key";
import { Cause, causesOf, rankCauses } from "./causes";
import { classifyLogin, LoginSymptom } from "./symptoms";

/**
 * `sshremedy diagnose`: a real login attempt, classified, then the read-only probes of every
 * concern through a way in that still works, turned into causes with their evidence and the
 * declaration that fixes each. Nothing on the host is changed: only probe scripts run there.
 */

export interface DiagnoseLogin {
    readonly address: string;
    readonly user: string;
    readonly port?: number;
    /** The private key's text (not a path): the login offers it alone. */
    readonly privateKey?: string;
    readonly password?: string;
    /** Where the login comes from; defaults to this machine's address towards the host. */
    readonly sources?: readonly string[];
    /** A pinned host key (known_hosts form); without it the attempt accepts what the host offers. */
    readonly hostKey?: string;
}

export interface Diagnosis {
    /** The schema of this object (docs/diagnose.schema.json). */
    readonly schema: "sshremedy-diagnosis/1";
    readonly login: { readonly address: string; readonly port: number; readonly user: string; readonly method: "key" | "password"; readonly sources: readonly string[] };
    readonly attempt: LoginSymptom;
    /** How the host was looked at (no secret), or null when no way in was given. */
    readonly wayIn: string | null;
    /** False when the probes did not run (no way in, or it failed): then no cause is known, only the symptom. */
    readonly looked: boolean;
    /** Most likely first. */
    readonly causes: readonly Cause[];
    /** What stopped a probe or a concern's plan, one line each. */
    readonly problems: readonly string[];
}

/** This machine's address on the route to `address` (no packet is sent: a UDP socket is only connected). */
export function sourceAddressTowards(address: string, port = 22): Promise<string | undefined> {
    return new Promise((resolve) => {
        const s = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
        s.on("error", () => { s.close(); resolve(undefined); });
        s.connect(port, address, () => {
            const a = s.address().address;
            s.close();
            resolve(a);
        });
    });
}

/** The concerns a diagnosis probes: SshAccess's, declared with nothing but the login. */
export function diagnoseConcerns(login: DiagnoseLogin, sources: readonly string[]): Concern[] {
    return sshAccessConcerns({
        login: {
            address: login.address, user: login.user, port: login.port, sources,
            ...(login.privateKey ? { privateKey: login.privateKey, publicKey: derivePublicKey(login.privateKey) } : {}),
            ...(login.password !== undefined ? { password: login.password } : {}),
        },
        // The account concern reports what refuses the login instead of stopping: here that is the point.
        account: {},
    });
}

/** One real login attempt with the OpenSSH client, its debug output kept for classification. */
export async function attemptLogin(login: DiagnoseLogin, timeoutSec = 10): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-diagnose-"));
    try {
        const knownHosts = path.join(scratch, "known_hosts");
        fs.writeFileSync(knownHosts, login.hostKey ? `${login.address.includes(":") ? `[${login.address}]` : login.address} ${login.hostKey}\n` : "", { mode: 0o600 });
        const { auth, env } = sshAuthentication(scratch, login, { PATH: process.env.PATH, HOME: process.env.HOME ?? scratch }, "diagnose: the login");
        const argv = ["ssh", "-v", "-F", "/dev/null", ...auth, "-p", String(login.port ?? 22),
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", `UserKnownHostsFile=${knownHosts}`,
            "-o", `StrictHostKeyChecking=${login.hostKey ? "yes" : "accept-new"}`, "-o", `ConnectTimeout=${timeoutSec}`,
            "-o", "ControlMaster=no", "-o", "ControlPath=none",
            "--", `${login.user}@${login.address}`, "id -un"];
        const r = await spawnCollect(argv, { env, input: "", timeoutMs: (timeoutSec + 20) * 1000 });
        return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/** Runs every concern's probe in one round trip and plans each; a concern that refuses says why. */
export async function probeHost(target: CommandTarget, concerns: readonly Concern[]): Promise<{ plans: Map<string, ConcernPlan>; problems: string[]; framed: Map<string, string> }> {
    const r = await runScript(target, composePhase([
        { script: "host/host-keys", label: "host-keys" },
        ...concerns.map((c) => ({ ...c.probe, label: c.name })),
    ]));
    if (r.code !== 0) {
        throw new Error(`probing ${describeTarget(target)} failed: ${r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`}`);
    }
    const framed = splitByStep(r.stdout);
    const plans = new Map<string, ConcernPlan>();
    const problems: string[] = [];
    for (const c of concerns) {
        const out = framed.get(c.name);
        if (out === undefined) {
            problems.push(`${c.name}: the probe printed nothing`);
            continue;
        }
        try {
            plans.set(c.name, c.plan(out));
        } catch (e) {
            // A concern that must not fix what it found (an account to leave alone) says what it found.
            problems.push(`${c.name}: ${e instanceof Error ? e.message : String(e)}`);
        }
    }
    return { plans, problems, framed };
}

export interface DiagnoseOptions {
    readonly login: DiagnoseLogin;
    /** The way in for the probes; without one only the login attempt is classified. */
    readonly target?: CommandTarget;
}

/** The whole diagnosis. Throws only on a bad argument; a way in that fails is reported in `problems`. */
export async function diagnose(opts: DiagnoseOptions): Promise<Diagnosis> {
    const { login } = opts;
    const sources = login.sources ?? [await sourceAddressTowards(login.address, login.port ?? 22)].filter((x): x is string => !!x);
    const concerns = diagnoseConcerns(login, sources);
    const raw = await attemptLogin(login);
    const attempt = classifyLogin(raw, login.user);
    const problems: string[] = [];
    let plans = new Map<string, ConcernPlan>();
    let framed = new Map<string, string>();
    let looked = false;
    if (opts.target) {
        try {
            const x = await probeHost(opts.target, concerns);
            plans = x.plans;
            framed = x.framed;
            problems.push(...x.problems);
            looked = true;
        } catch (e) {
            problems.push(e instanceof Error ? e.message : String(e));
        }
    }
    const causes = rankCauses(causesOf(plans, problems, framed), attempt);
    return {
        schema: "sshremedy-diagnosis/1",
        login: { address: login.address, port: login.port ?? 22, user: login.user, method: login.privateKey ? "key" : "password", sources },
        attempt,
        wayIn: opts.target ? describeTarget(opts.target) : null,
        looked,
        causes,
        problems,
    };
}
