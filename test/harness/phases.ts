import { strict as assert } from "assert";
import type { Concern, ConcernPlan } from "../../components/core/concern";
import { composePhase, Step } from "../../components/core/compose";
import type { TestHost } from "./lab";

/** Runs one phase on the host through its console, as the pipeline sends it; asserts it succeeded. */
export async function runPhase(host: TestHost, steps: readonly Step[]): Promise<string> {
    const r = await host.console("/bin/sh -s", { input: composePhase(steps) });
    assert.equal(r.code, 0, `phase exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

/** A concern's probe on the host, and the plan made from what it printed. */
export async function probeAndPlan(host: TestHost, concern: Concern): Promise<{ plan: ConcernPlan; stdout: string }> {
    const stdout = await runPhase(host, [concern.probe]);
    return { plan: concern.plan(stdout), stdout };
}
