import * as fs from "fs";
import { run, runSync } from "../harness/exec";
import { Core, Direction, InstanceRecord, Policy } from "./state";

/**
 * Security groups enforced outside the hosts, where the cloud enforces them: an nftables table of
 * the emulator's own in the machine's root network namespace, on the machine's side of every
 * host's link. Packets to a host's address (hooks output, for the test clients on this machine,
 * and forward) go through its Ingress policies; packets from it (input, forward) through its
 * Egress policies. First match wins, traffic no policy matches is dropped, and the groups are
 * stateful: packets of a connection already admitted pass. An instance with several groups gets
 * their policies in the order of its SecurityGroupIds. Every change rewrites the whole table in
 * one `nft -f` transaction; close() deletes it. The hosts cannot see it: it is not in their
 * network namespaces.
 */

const tablePrefix = "sshremedy_sg_";

function chainName(kind: "in" | "out", instanceId: string): string {
    return `${kind}_${instanceId.replace(/-/g, "_")}`;
}

function portMatch(protocol: string, port: string): string {
    const proto = protocol.toLowerCase();
    if (port === "ALL") {
        return `meta l4proto ${proto}`;
    }
    const parts = port.split(",");
    return `${proto} dport ${parts.length === 1 ? parts[0] : `{ ${parts.join(", ")} }`}`;
}

/** One policy as an nft rule; `peer` is saddr for Ingress (the source), daddr for Egress. */
export function policyRule(p: Policy, direction: Direction): string {
    const terms: string[] = [];
    if (p.CidrBlock !== "0.0.0.0/0") {
        terms.push(`ip ${direction === "Ingress" ? "saddr" : "daddr"} ${p.CidrBlock}`);
    }
    if (p.Protocol === "TCP" || p.Protocol === "UDP") {
        terms.push(portMatch(p.Protocol, p.Port));
    } else if (p.Protocol === "ICMP") {
        terms.push("meta l4proto icmp");
    }
    terms.push(p.Action === "ACCEPT" ? "accept" : "drop");
    return terms.join(" ");
}

export class Firewall {
    readonly table: string;
    private queue: Promise<void> = Promise.resolve();
    private written = false;
    private readonly onExit = () => this.removeSync();

    constructor(private readonly core: Core, readonly enabled: boolean, serial: number) {
        this.table = `${tablePrefix}${process.pid}_${serial}`;
        if (enabled) {
            process.on("exit", this.onExit);
        }
    }

    /** Deletes tables left behind by emulators of test processes that are gone. */
    static async removeStale(): Promise<void> {
        const r = await run(["nft", "list", "tables", "inet"]);
        for (const m of r.stdout.matchAll(new RegExp(`^table inet (${tablePrefix}(\\d+)_\\d+)$`, "gm"))) {
            if (!fs.existsSync(`/proc/${m[2]}`)) {
                await run(["nft", "delete", "table", "inet", m[1]]);
            }
        }
    }

    /** The whole table for the current policies, as one nft transaction. */
    render(): string {
        const enforced = [...this.core.instances.values()].filter((i) => i.machine.networked);
        const lines = [`add table inet ${this.table}`, `delete table inet ${this.table}`, `table inet ${this.table} {`];
        const hook = (name: string, hookName: string, jumps: string[]) => {
            lines.push(`  chain ${name} {`, `    type filter hook ${hookName} priority filter; policy accept;`, ...jumps.map((j) => `    ${j}`), "  }");
        };
        const toHost = (i: InstanceRecord) => `ip daddr ${i.machine.address} jump ${chainName("in", i.id)}`;
        const fromHost = (i: InstanceRecord) => `ip saddr ${i.machine.address} jump ${chainName("out", i.id)}`;
        hook("to_hosts", "output", enforced.map(toHost));
        hook("through", "forward", [...enforced.map(toHost), ...enforced.map(fromHost)]);
        hook("from_hosts", "input", enforced.map(fromHost));
        for (const i of enforced) {
            for (const direction of ["Ingress", "Egress"] as const) {
                const policies = i.securityGroupIds.flatMap((id) => this.core.groups.get(id)?.[direction] ?? []);
                lines.push(`  chain ${chainName(direction === "Ingress" ? "in" : "out", i.id)} {`,
                    "    ct state established,related accept",
                    ...policies.map((p) => `    ${policyRule(p, direction)}`),
                    "    drop",
                    "  }");
            }
        }
        lines.push("}");
        return `${lines.join("\n")}\n`;
    }

    /** Rewrites the table; changes are applied one after the other, in the order they were made. */
    apply(): Promise<void> {
        if (!this.enabled) {
            return Promise.resolve();
        }
        const next = this.queue.then(async () => {
            const r = await run(["nft", "-f", "-"], { input: this.render() });
            if (r.code !== 0) {
                throw new Error(`nft refused the security group table: ${r.stderr.trim()}`);
            }
            this.written = true;
        });
        this.queue = next.catch(() => undefined);
        return next;
    }

    async close(): Promise<void> {
        await this.queue;
        if (this.enabled) {
            process.off("exit", this.onExit);
            if (this.written) {
                await run(["nft", "delete", "table", "inet", this.table]);
            }
        }
    }

    private removeSync(): void {
        if (this.written) {
            runSync(["nft", "delete", "table", "inet", this.table]);
        }
    }
}
