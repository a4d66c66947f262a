import { run } from "../harness/exec";
import { startHost, stopHost, TestHost, upperDir } from "../harness/lab";

/**
 * What the emulator needs of the machine behind an instance. A lab host (a real booted test host)
 * provides all of it; a detached machine is only a disk folder and an address, for protocol tests
 * that boot no host: it has no TAT agent installed and no network to enforce security groups on.
 */
export interface Machine {
    /** The instance's private (and, unless told otherwise, public) address. */
    readonly address: string;
    /** The folder that holds the system disk's content (a lab host's overlay upper layer). */
    readonly diskDir: string;
    /** True when the address is a real host's, reachable from this machine: security groups are enforced on it. */
    readonly networked: boolean;
    /** argv prefix of a root shell inside the machine, where the TAT agent runs; undefined: no agent installed. */
    consolePrefix(): string[] | undefined;
    /** Powers off; with `graceful`, the guest is asked to shut down first. */
    powerOff(graceful: boolean): Promise<void>;
    /** Powers on; resolves once the guest's init runs. */
    powerOn(): Promise<void>;
    /** Resolves once the guest has finished booting (when an agent would come online). */
    booted(): Promise<void>;
}

/** A machine backed by a test host of the lab; it follows the host across power cycles. */
export class LabMachine implements Machine {
    readonly networked = true;

    constructor(private current: TestHost, private readonly graceMs = 10_000) {}

    get host(): TestHost {
        return this.current;
    }

    get address(): string {
        return this.current.address;
    }

    get diskDir(): string {
        return upperDir(this.current);
    }

    consolePrefix(): string[] {
        return this.current.consolePrefix;
    }

    powerOff(graceful: boolean): Promise<void> {
        return stopHost(this.current, { graceMs: graceful ? this.graceMs : 0 });
    }

    async powerOn(): Promise<void> {
        this.current = await startHost(this.current);
    }

    async booted(): Promise<void> {
        if (this.current.flavour === "sysv") {
            return;
        }
        // Degraded or not, the boot is over when this returns; it never takes a minute here.
        await run([...this.current.consolePrefix, "systemctl", "is-system-running", "--wait"], { timeoutMs: 60_000 });
    }
}

/** A disk folder and an address, nothing running: for tests of the API alone. */
export class DetachedMachine implements Machine {
    readonly networked = false;

    constructor(readonly address: string, readonly diskDir: string) {}

    consolePrefix(): undefined {
        return undefined;
    }

    async powerOff(): Promise<void> {
        /* nothing runs */
    }

    async powerOn(): Promise<void> {
        /* nothing to boot */
    }

    async booted(): Promise<void> {
        /* nothing to wait for */
    }
}
