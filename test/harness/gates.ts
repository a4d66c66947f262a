import { strict as assert } from "assert";
import { createHosts, destroyHost, ensureClientKeys, Flavour, TestHost } from "./lab";
import { hostsPerTest } from "./per-test";
import type { GateShape } from "./gate-shapes";
import { TestStack } from "./pulumi";
import { stackFor, stacksPerTest } from "./stacks";
import { LoginResult, sshLogin } from "./ssh";

export type { GateShape } from "./gate-shapes";

/** Breaks the host as the shape says, with `$SSHD_UNIT` and `restart_sshd` fitting its flavour. */
export async function breakHost(host: TestHost, shape: GateShape): Promise<void> {
    // The SysV script checks the configuration before a restart and keeps the old sshd when the
    // check fails; stop then start is what a reboot does to it.
    const restart = host.flavour === "sysv" ? "/etc/init.d/ssh stop; /etc/init.d/ssh start" : `systemctl restart ${host.sshdUnit}`;
    await host.console(`SSHD_UNIT=${host.sshdUnit}\nrestart_sshd() { ${restart}; }\n${shape.breaks}`);
}

export function shapesOn(flavour: Flavour, shapes: readonly GateShape[]): GateShape[] {
    return shapes.filter((s) => !s.flavours || s.flavours.includes(flavour));
}

async function aliceLogin(host: TestHost): Promise<LoginResult> {
    return sshLogin({ address: host.address, user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 });
}

/** What a repaired host must show for its shape; the failures, each naming the shape. */
async function checkRepaired(host: TestHost, shape: GateShape, stack: TestStack): Promise<string[]> {
    const failures: string[] = [];
    const login = await aliceLogin(host);
    if (!login.ok) failures.push(`${shape.title}: the login still fails: ${login.symptom}`);
    if (shape.evidence) {
        const { gate, line } = shape.evidence;
        const result = ((await stack.outputs()).results as Record<string, { evidence: Record<string, string[]> }>)[host.name];
        if (!(result.evidence[gate] ?? []).some((l) => line.test(l))) {
            failures.push(`${shape.title}: no ${gate} evidence matching ${line} in ${JSON.stringify(result.evidence)}`);
        }
    }
    if (shape.files && !shape.files.test(await host.consoleOk("cat /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null; true"))) {
        failures.push(`${shape.title}: sshd_config and its drop-ins do not match ${shape.files}`);
    }
    if (shape.after && (await host.console(`SSHD_UNIT=${host.sshdUnit}\n${shape.after}`)).code !== 0) {
        failures.push(`${shape.title}: ${shape.after} fails after the repair`);
    }
    return failures;
}

/**
 * Call at describe level: for each shape that exists on Debian's defaults, a test that breaks a
 * fresh host, proves the real client is refused, runs one `pulumi up` of index.ts with the
 * smallest declaration, and proves the login works and the run says what it found and where.
 */
export function itRepairs(tag: string, shapes: readonly GateShape[]): void {
    const newHost = hostsPerTest();
    const newStack = stacksPerTest();
    for (const s of shapesOn("systemd", shapes)) {
        it(`[${tag}] ${s.title}: refused, then repaired by one pulumi up`, async () => {
            const host: TestHost = await newHost();
            await breakHost(host, s);
            const before = await aliceLogin(host);
            assert.equal(before.ok, false, "the shape did not break the login");
            if (s.symptom) assert.match(before.symptom, s.symptom);

            const stack = await newStack([{ host }]);
            const up = await stack.up();
            assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
            assert.deepEqual(await checkRepaired(host, s, stack), []);
        });
    }
}

/**
 * Call at describe level: every shape of every tag that exists on `flavour`, each on a host of
 * its own, shown to refuse the login, then one `pulumi up` for all of them, then every host
 * shows what its shape demands.
 */
export function itRepairsOnFlavour(flavour: Flavour, byTag: Readonly<Record<string, readonly GateShape[]>>): void {
    const cases = Object.entries(byTag).flatMap(([tag, shapes]) => shapesOn(flavour, shapes).map((shape) => ({ tag, shape })));
    let hosts: TestHost[] = [];
    let stack: TestStack | undefined;
    afterEach(async () => {
        await stack?.dispose();
        stack = undefined;
        await Promise.all(hosts.splice(0).map(destroyHost));
    });
    const tags = [...new Set(cases.map((c) => `[${c.tag}]`))].join("");
    it(`[flavour-${flavour}] ${tags} ${cases.length} shapes, each on its own ${flavour} host, repaired by one pulumi up`, async () => {
        hosts = await createHosts(cases.length, { flavour });
        await Promise.all(cases.map((c, i) => breakHost(hosts[i], c.shape)));
        const before = await Promise.all(hosts.map(aliceLogin));
        const unbroken = cases.filter((_, i) => before[i].ok).map((c) => c.shape.title);
        assert.deepEqual(unbroken, [], "these shapes did not break the login");
        const wrongSymptom = cases.filter((c, i) => c.shape.symptom && !c.shape.symptom.test(before[i].symptom))
            .map((c) => c.shape.title);
        assert.deepEqual(wrongSymptom, [], "these shapes broke the login with another symptom");

        stack = await stackFor(hosts.map((host) => ({ host })));
        const up = await stack.up();
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        const failures = (await Promise.all(cases.map((c, i) => checkRepaired(hosts[i], c.shape, stack!)))).flat();
        assert.deepEqual(failures, []);
    });
}
