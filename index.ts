import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CommandTargetInput, HostCommand } from "./components/host-command";

/** One host of the stack config `sshremedy:hosts`. */
interface HostDeclaration {
    readonly name: string;
    /** argv prefix that runs a command on the host out of band (a console). */
    readonly console?: string[];
    /** Reach the host over SSH instead, with `sshremedy:privateKey`. */
    readonly ssh?: { host: string; port?: number; user: string };
}

const config = new pulumi.Config("sshremedy");
const hosts = config.requireObject<HostDeclaration[]>("hosts");
const repairScript = fs.readFileSync(path.join(__dirname, "components", "baseline", "vendor-sshd-config.sh"), "utf8");

function targetOf(h: HostDeclaration): CommandTargetInput {
    if (h.console && h.ssh) {
        throw new Error(`sshremedy:hosts[${h.name}]: give either console or ssh, not both`);
    }
    if (h.console) {
        return { kind: "console", prefix: h.console };
    }
    if (h.ssh) {
        return { kind: "ssh", host: h.ssh.host, port: h.ssh.port, user: h.ssh.user, privateKey: config.requireSecret("privateKey") };
    }
    throw new Error(`sshremedy:hosts[${h.name}]: give console (an argv prefix) or ssh ({ host, user })`);
}

export const results = Object.fromEntries(hosts.map((h) => {
    const repair = new HostCommand(`${h.name}-sshd-config`, { target: targetOf(h), create: repairScript });
    return [h.name, repair.stdout];
}));
