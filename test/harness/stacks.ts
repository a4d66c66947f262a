import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ensureClientKeys, TestHost, testUsers } from "./lab";
import { TestStack } from "./pulumi";

/** The repository itself: its index.ts is the stack program the tests run. */
export const project = path.resolve(__dirname, "..", "..");

export interface HostCase {
    readonly host: TestHost;
    readonly user?: string;
    readonly method?: "key" | "password";
    /** Merged into the host's entry of `sshremedy:hosts` (e.g. `login` fields, `sshd`). */
    readonly extra?: Record<string, unknown>;
}

/** The `sshremedy:hosts` entry of one test host, reached through its console. */
export function hostEntry(c: HostCase): Record<string, unknown> {
    const login = { address: c.host.address, user: c.user ?? "alice", method: c.method ?? "key", sources: [c.host.peerAddress] };
    const extra = c.extra ?? {};
    return { name: c.host.name, console: c.host.consolePrefix, ...extra, login: { ...login, ...(extra.login as object | undefined) } };
}

/** A stack of this project's index.ts declaring the given hosts, with the test users' key and password. */
export async function stackFor(cases: readonly HostCase[]): Promise<TestStack> {
    const s = await TestStack.create(project);
    await setHosts(s, cases);
    await s.setConfig("sshremedy:loginKey", fs.readFileSync((await ensureClientKeys()).main, "utf8"), true);
    await s.setConfig("sshremedy:loginPassword", testUsers[(cases[0]?.user ?? "alice") as keyof typeof testUsers].password, true);
    return s;
}

/** Declares the hosts anew, as an operator editing the stack config would. */
export async function setHosts(s: TestStack, cases: readonly HostCase[]): Promise<void> {
    await s.setConfig("sshremedy:hosts", JSON.stringify(cases.map(hostEntry)));
}

/** Call at describe level: `stackFor` whose stacks are destroyed after each test, whether it passed or failed. */
export function stacksPerTest(): (cases: readonly HostCase[]) => Promise<TestStack> {
    const made: TestStack[] = [];
    afterEach(async () => {
        for (const s of made.splice(0)) await s.dispose();
    });
    return async (cases) => {
        const s = await stackFor(cases);
        made.push(s);
        return s;
    };
}

/**
 * A stack of this project's index.ts that reaches one host over SSH as root (`sshremedy:adminKey`)
 * and declares alice's key login from the machine; `extra` is merged into the host's entry.
 */
export async function sshStackFor(host: TestHost, extra: Record<string, unknown> = {}): Promise<TestStack> {
    const s = await TestStack.create(project);
    await s.setConfig("sshremedy:hosts", JSON.stringify([{
        name: host.name, ssh: { user: "root" },
        login: { address: host.address, user: "alice", sources: [host.peerAddress] },
        ...extra,
    }]));
    const key = fs.readFileSync((await ensureClientKeys()).main, "utf8");
    await s.setConfig("sshremedy:loginKey", key, true);
    await s.setConfig("sshremedy:adminKey", key, true);
    return s;
}

/** `pulumi up` of a stack started in the background, in a process group of its own. */
export function startUp(s: TestStack): { pid: number; done: Promise<{ code: number | null; output: string }> } {
    const log = path.join(s.stateDir, `up-${Date.now()}.log`);
    const out = fs.openSync(log, "w");
    const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--cwd", project, "--stack", s.stack],
        { env: s.env, detached: true, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    const done = new Promise<{ code: number | null; output: string }>((resolve) => child.on("exit", (code) =>
        resolve({ code, output: fs.readFileSync(log, "utf8") })));
    return { pid: child.pid!, done };
}

/**
 * A stack whose one host is a Tencent Cloud instance of the emulator, declared the smallest way
 * (its id, the login; the address is looked up), with the emulator's endpoint and credentials and
 * the login's key (and alice's password) as secrets. `tencent` and `extra` add to the host's entry.
 */
export async function tencentStackFor(
    emu: { readonly endpoint: unknown; readonly credential: { readonly secretId: string; readonly secretKey: string }; readonly region: string },
    host: TestHost, instanceId: string, tencent: Record<string, unknown> = {}, extra: Record<string, unknown> = {},
): Promise<TestStack> {
    const s = await TestStack.create(project);
    await s.setConfig("sshremedy:hosts", JSON.stringify([{
        name: host.name, tencent: { instanceId, ...tencent }, login: { user: "alice", sources: [host.peerAddress] }, ...extra,
    }]));
    await s.setConfig("sshremedy:tencentEndpoint", JSON.stringify(emu.endpoint));
    await s.setConfig("tencentcloud:secretId", emu.credential.secretId, true);
    await s.setConfig("tencentcloud:secretKey", emu.credential.secretKey, true);
    await s.setConfig("tencentcloud:region", emu.region);
    await s.setConfig("sshremedy:loginKey", fs.readFileSync((await ensureClientKeys()).main, "utf8"), true);
    await s.setConfig("sshremedy:loginPassword", testUsers.alice.password, true);
    return s;
}
