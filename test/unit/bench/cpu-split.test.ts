import { strict as assert } from "assert";
import { splitRecords } from "../../../bench/cpu-split";

describe("the fleet benchmark's CPU split (bench/cpu-split.ts)", () => {
    it("splits accounted processes by who ran them: engine, program, providers, ssh, other tools, the hosts", () => {
        const records = [
            { comm: "pulumi", cpu: 5, pid: 100, ppid: 50 },
            { comm: "pulumi-language", cpu: 0.5, pid: 101, ppid: 100 },
            { comm: "node", cpu: 3, pid: 102, ppid: 101 },             // the program, under the language host
            { comm: "node", cpu: 2, pid: 103, ppid: 100 },             // the dynamic provider
            { comm: "DelayedTaskSche", cpu: 1, pid: 106, ppid: 100 },  // a provider whose last thread was V8's
            { comm: "sh", cpu: 0.25, pid: 104, ppid: 103 },
            { comm: "ssh", cpu: 0.75, pid: 105, ppid: 1 },             // a master, detached from its parent
            { comm: "sshd", cpu: 4, pid: 200, ppid: 199 },             // inside a test host
        ];
        const s = splitRecords(records, 100);
        assert.deepEqual(s, { machine: 12.5, engine: 5.5, program: 3, providers: 3, ssh: 0.75, tools: 0.25, hosts: 4, total: 16.5 });
    });
});
