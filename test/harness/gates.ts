import { strict as assert } from "assert";
import { ensureClientKeys, TestHost } from "./lab";
import { hostsPerTest } from "./per-test";
import { stacksPerTest } from "./stacks";
import { sshLogin } from "./ssh";

/** One way a real host breaks alice's key login, and what the repair must show for it. */
export interface GateShape {
    readonly title: string;
    /** Console script that breaks the host (its exit status is not checked: a failing restart is part of some shapes). */
    readonly breaks: string;
    /** The client's words for the refusal, when they matter. */
    readonly symptom?: RegExp;
    /** A line of `evidence[gate]` the run must export. */
    readonly evidence?: { readonly gate: string; readonly line: RegExp };
    /** What sshd_config and its drop-ins must read afterwards. */
    readonly files?: RegExp;
    /** A console command that must succeed afterwards. */
    readonly after?: string;
}

/**
 * Call at describe level: for each shape, a test that breaks a fresh host, proves the real client
 * is refused, runs one `pulumi up` of index.ts with the smallest declaration, and proves the
 * login works and the run says what it found and where.
 */
export function itRepairs(tag: string, shapes: readonly GateShape[]): void {
    const newHost = hostsPerTest();
    const newStack = stacksPerTest();
    for (const s of shapes) {
        it(`[${tag}] ${s.title}: refused, then repaired by one pulumi up`, async () => {
            const host: TestHost = await newHost();
            await host.console(s.breaks);
            const login = { user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 };
            const before = await sshLogin({ address: host.address, ...login });
            assert.equal(before.ok, false, "the shape did not break the login");
            if (s.symptom) assert.match(before.symptom, s.symptom);

            const stack = await newStack([{ host }]);
            const up = await stack.up();
            assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
            assert.ok((await sshLogin({ address: host.address, ...login })).ok, "the login still fails");
            if (s.evidence) {
                const { gate, line } = s.evidence;
                const result = ((await stack.outputs()).results as Record<string, { evidence: Record<string, string[]> }>)[host.name];
                assert.ok((result.evidence[gate] ?? []).some((l) => line.test(l)), `no ${gate} evidence matching ${line} in ${JSON.stringify(result.evidence)}`);
            }
            if (s.files) {
                assert.match(await host.consoleOk("cat /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null; true"), s.files);
            }
            if (s.after) assert.equal((await host.console(s.after)).code, 0, `${s.after} fails after the repair`);
        });
    }
}
