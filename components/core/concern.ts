import type { Step } from "./compose";
import type { EffectiveCheck } from "../sshd-config/effective";

/**
 * One part of a host's SSH access path (sshd_config, hosts.allow/deny, the firewall, sshd's
 * runtime, SELinux). The host pipeline runs every concern's probe in one round trip, plans each
 * from what its probe printed, snapshots the union of their paths, then runs every pending
 * concern's apply steps inside one dead-man window, and verifies once at the end.
 */
export interface Concern {
    /** Short kebab-case name, unique within a host: "sshd-config", "hosts-access", … */
    readonly name: string;
    /**
     * One host script step that reads (never changes) what the plan needs and prints `key=value`
     * lines. The pipeline frames its output, so keys need only be unique within the concern.
     */
    readonly probe: Step;
    /** Pure: what must change, from this concern's probe output (its key=value lines only). */
    plan(probeOutput: string): ConcernPlan;
    /** The declaration as plain JSON: when it changes, the concern's resources update. */
    readonly declaration: unknown;
}

export interface ConcernPlan {
    /** True when the host differs from the declaration. */
    readonly pending: boolean;
    /** What differs, one line each, for `pulumi preview` (e.g. "/etc/hosts.deny: - sshd: ALL"). */
    readonly drift: readonly string[];
    /** Every file the apply steps may touch: the snapshot holds them (firewall state it always holds). */
    readonly paths: readonly string[];
    /**
     * Paths whose owner and mode only (not contents) the apply steps may change, e.g. a home
     * directory StrictModes refuses: the snapshot records and restores just those. Defaults to none.
     */
    readonly modes?: readonly string[];
    /** Steps run in order inside the dead-man window; empty when nothing is pending. */
    readonly apply: readonly Step[];
    /** True when sshd must be restarted after the apply steps (sshd_config, runtime repairs). */
    readonly restartSshd: boolean;
    /** What `sshd -T -C` must print for the verifying connection once the change is in. */
    readonly effective?: readonly EffectiveCheck[];
}
