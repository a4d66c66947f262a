import { run } from "../harness/exec";
import { startHost, stopHost, TestHost, upperDir } from "../harness/lab";
import { RescueOptions, RescueSystem } from "./rescue";

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
    /**
     * Rescue mode: with the machine powered off (the caller has done that), boots a rescue system
     * at the machine's address with the system disk attached, not mounted. Resolves once it answers.
     */
    enterRescue(opts: RescueOptions): Promise<void>;
    /** Powers the rescue system off and writes the disk back; the machine stays off (powerOn boots it). */
    exitRescue(): Promise<void>;
    /** Throws a rescue system away, nothing written back (synchronous: also runs at process exit). */
    abandonRescue(): void;
}

/** A machine backed by a test host of the lab; it follows the host across power cycles. */
export class LabMachine implements Machine {
    readonly networked = true;

    private rescueSystem: RescueSystem | undefined;

    constructor(private current: TestHost, private readonly graceMs = 10_000) {}

    /** The rescue system while one runs. */
    get rescue(): RescueSystem | undefined {
        return this.rescueSystem;
    }

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

    async enterRescue(opts: RescueOptions): Promise<void> {
        if (this.rescueSystem) {
            throw new Error(`${this.current.name} is in rescue mode already`);
        }
        this.rescueSystem = await RescueSystem.boot(this.current, opts);
    }

    async exitRescue(): Promise<void> {
        const r = this.rescueSystem;
        if (!r) {
            throw new Error(`${this.current.name} is not in rescue mode`);
        }
        await r.powerOff(this.graceMs);
        await r.writeBack();
        this.rescueSystem = undefined;
    }

    abandonRescue(): void {
        this.rescueSystem?.abandonSync();
        this.rescueSystem = undefined;
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

    async enterRescue(): Promise<void> {
        /* no rescue system to boot: the state changes only */
    }

    async exitRescue(): Promise<void> {
        /* nothing to write back */
    }

    abandonRescue(): void {
        /* nothing runs */
    }
}
