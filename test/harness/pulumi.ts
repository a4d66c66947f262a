import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ExecResult, run } from "./exec";

let stackCounter = 0;

/**
 * A real Pulumi stack for one test: the real CLI, a file backend of its own in a temp folder
 * (so the test can read the state it leaves) and its own passphrase. Nothing is mocked.
 */
export class TestStack {
    readonly stateDir: string;
    readonly env: NodeJS.ProcessEnv;

    private constructor(readonly projectDir: string, readonly stack: string) {
        this.stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-state-"));
        this.env = {
            ...process.env,
            PULUMI_BACKEND_URL: `file://${this.stateDir}`,
            PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(12).toString("hex"),
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_HOME: process.env.PULUMI_HOME ?? path.join(this.stateDir, "home"),
            NO_COLOR: "1",
        };
    }

    /** Stack names are unique per process and call, so tests may share one project folder. */
    static async create(projectDir: string, stack = `t${process.pid}x${++stackCounter}`): Promise<TestStack> {
        const s = new TestStack(projectDir, stack);
        const r = await s.pulumi(["stack", "init", stack]);
        if (r.code !== 0) {
            throw new Error(`pulumi stack init: ${r.stderr}`);
        }
        return s;
    }

    /** Runs the pulumi CLI in the project folder on this stack. */
    pulumi(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
        return run(["pulumi", ...args, "--non-interactive", "--cwd", this.projectDir, ...(args[0] === "stack" && args[1] === "init" ? [] : ["--stack", this.stack])],
            { env: this.env, input: opts.input, timeoutMs: opts.timeoutMs ?? 300_000 });
    }

    async setConfig(key: string, value: string, secret = false): Promise<void> {
        // The value goes on stdin, never on a command line where `ps` would show it.
        const r = await this.pulumi(["config", "set", ...(secret ? ["--secret"] : []), key], { input: value });
        if (r.code !== 0) {
            throw new Error(`pulumi config set ${key}: ${r.stderr}`);
        }
    }

    async up(): Promise<ExecResult> {
        return this.pulumi(["up", "--yes", "--skip-preview"]);
    }

    async outputs(): Promise<Record<string, unknown>> {
        const r = await this.pulumi(["stack", "output", "--json", "--show-secrets"]);
        if (r.code !== 0) {
            throw new Error(`pulumi stack output: ${r.stderr}`);
        }
        return JSON.parse(r.stdout) as Record<string, unknown>;
    }

    /** Every file of the stack's state, concatenated: what a reader of the backend could see. */
    stateText(): string {
        const texts: string[] = [];
        const walk = (d: string) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const p = path.join(d, e.name);
                if (e.isDirectory()) {
                    walk(p);
                } else if (e.isFile()) {
                    texts.push(fs.readFileSync(p, "utf8"));
                }
            }
        };
        walk(this.stateDir);
        return texts.join("\n");
    }

    /** Destroys what is left and removes the stack's state and config. */
    async dispose(): Promise<void> {
        await this.pulumi(["destroy", "--yes", "--skip-preview"]);
        await this.pulumi(["stack", "rm", "--yes", "--force"]);
        fs.rmSync(this.stateDir, { recursive: true, force: true });
        fs.rmSync(path.join(this.projectDir, `Pulumi.${this.stack}.yaml`), { force: true });
    }
}
