import * as os from "os";

/** What every benchmark records of the machine it ran on, beside its own tools' versions. */
export function machineBasics(): { cpu: string; cores: number; memoryGiB: number; node: string; kernel: string } {
    const cpu = os.cpus();
    return {
        cpu: cpu[0]?.model ?? "unknown",
        cores: cpu.length,
        memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
        node: process.version,
        kernel: os.release(),
    };
}
