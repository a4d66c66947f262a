import { strict as assert } from "assert";
import { FaultId, faultLogin, InjectedFault, InjectOptions, injectFault } from "../harness/faults";
import { createHosts, destroyHost, Flavour, TestHost } from "../harness/lab";
import { TestStack } from "../harness/pulumi";
import { stackFor } from "../harness/stacks";
import { sshLogin } from "../harness/ssh";
import { itRepairsOnFlavour } from "../harness/gates";
import { gateShapes } from "../harness/gate-shapes";

/**
 * The catalogue on the host flavours beyond Debian's defaults: each fault on a host of its own,
 * shown to break the login with the real client, then one `pulumi up` of index.ts for all of them,
 * then every login works and a second `pulumi up` changes nothing.
 */

interface Case {
    readonly id: FaultId;
    readonly opts?: InjectOptions;
    readonly user?: string;
    readonly method?: "key" | "password";
    /** A line the host's evidence must hold afterwards: the gate that found the cause, and where. */
    readonly evidence?: { readonly gate: string; readonly line: RegExp };
}

const catalogue: readonly Case[] = [
    { id: "S1" }, { id: "S2" }, { id: "S3" }, { id: "S4" },
    { id: "S5", method: "password" },
    { id: "S6" },
    { id: "S7", opts: { s7: "iptables" } },
    { id: "S7", opts: { s7: "nftables" } },
    { id: "S8" },
    { id: "S10", user: "root" },
    { id: "S11" }, { id: "S12" }, { id: "S13" },
    { id: "S14" },
    { id: "S15" },
];

const perFlavour: Record<string, readonly Case[]> = {
    rhel: [...catalogue, { id: "S7", opts: { s7: "firewalld" } }],
    socket: [...catalogue.filter((c) => c.id !== "S14"), {
        id: "S14", opts: { s14: "socket-listen-address" },
        evidence: { gate: "sshd-runtime", line: /^ssh\.socket: ListenStream=198\.19\.255\.254:22 \(\/etc\/systemd\/system\/ssh\.socket\.d\/listen\.conf:3\) cannot be bound/ },
    }],
};

describe("the catalogue on every host flavour, through index.ts", function () {
    this.timeout(900_000);
    let hosts: TestHost[] = [];
    let stack: TestStack | undefined;
    let faults: InjectedFault[] = [];
    afterEach(async () => {
        faults.splice(0).forEach((f) => f.release());
        await stack?.dispose();
        stack = undefined;
        await Promise.all(hosts.splice(0).map(destroyHost));
    });

    for (const [flavour, cases] of Object.entries(perFlavour)) {
        const tags = [...new Set(cases.map((c) => `[${c.id}]`))].join("");
        it(`[flavour-${flavour}] ${tags} each fault on its own ${flavour} host, one pulumi up, every login works, a second up changes nothing`, async () => {
            hosts = await createHosts(cases.length, { flavour: flavour as Flavour });
            faults = [];
            for (const [i, c] of cases.entries()) {
                faults.push(await injectFault(hosts[i], c.id, c.opts));
            }
            const logins = await Promise.all(cases.map(async (c) => faultLogin(c.id)));
            const before = await Promise.all(hosts.map((h, i) => sshLogin({ address: h.address, ...logins[i], connectTimeoutSec: 6 })));
            const stillIn = cases.filter((c, i) => before[i].ok).map((c) => `${c.id} ${c.opts ? JSON.stringify(c.opts) : ""}`);
            assert.deepEqual(stillIn, [], "these faults did not break the login on this flavour");

            stack = await stackFor(cases.map((c, i) => ({ host: hosts[i], user: c.user, method: c.method })));
            const up = await stack.up();
            faults.splice(0).forEach((f) => f.release());
            assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
            const after = await Promise.all(hosts.map(async (h, i) => sshLogin({ address: h.address, ...(await faultLogin(cases[i].id)) })));
            const refused = cases.map((c, i) => [c, after[i]] as const).filter(([, r]) => !r.ok)
                .map(([c, r]) => `${c.id} ${c.opts ? JSON.stringify(c.opts) : ""}: ${r.symptom}`);
            assert.deepEqual(refused, [], "these logins still fail after the repair");
            const results = (await stack.outputs()).results as Record<string, { evidence: Record<string, string[]> }>;
            for (const [i, c] of cases.entries()) {
                if (!c.evidence) continue;
                const lines = results[hosts[i].name].evidence[c.evidence.gate] ?? [];
                assert.ok(lines.some((l) => c.evidence!.line.test(l)), `${c.id}: no ${c.evidence.gate} evidence matching ${c.evidence.line} in ${JSON.stringify(lines)}`);
            }
            const again = await stack.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
            assert.equal(again.code, 0, `a converged host still changed:\n${again.stdout}`);
        });
    }
});

describe("the gates on every host flavour beyond Debian's defaults, through index.ts", function () {
    this.timeout(900_000);
    for (const flavour of ["rhel", "socket", "sysv"] as const) {
        describe(flavour, () => itRepairsOnFlavour(flavour, gateShapes));
    }
});
