import { ResourceValidationPolicy } from "@pulumi/policy";
import { hostCommandType, loginView } from "./declaration";

const WRITERS = /^(sed|tee|cp|mv|install|rm|ln|truncate|chmod|chown|touch|mkdir|rmdir)$/;

/** The first path under /etc/ssh a line of shell writes: a redirection, or an argument of a writing command. */
export function sshPathWritten(script: string): string | undefined {
    for (const line of script.split("\n")) {
        const redirect = />>?\s*['"]?(\/etc\/ssh(\/[^\s'";|&)]*)?)/.exec(line);
        if (redirect) return redirect[1];
        for (const command of line.split(/&&|\|\||[;|&]/)) {
            const words = command.trim().split(/\s+/).map((w) => w.replace(/^['"]|['"]$/g, ""));
            const i = words.findIndex((w) => WRITERS.test(w));
            if (i < 0 || (words[i] === "sed" && !words.some((w) => w.startsWith("-i")))) continue;
            const args = words.slice(i + 1).filter((w) => !w.startsWith("-"));
            // cp/mv/install/ln write only their last argument; the others write every one.
            const written = /^(cp|mv|install|ln)$/.test(words[i]) ? args.slice(-1) : args;
            const hit = written.find((w) => w === "/etc/ssh" || w.startsWith("/etc/ssh/"));
            if (hit) return hit;
        }
    }
    return undefined;
}

/**
 * Every change to the SSH access path has a snapshot before it, which the dead-man revert and a
 * failed verification restore. For our components that means snapshotsKept of at least 1; a raw
 * HostCommand whose script writes under /etc/ssh has neither snapshot nor revert (recognised by
 * its script text, so this part is a heuristic).
 */
export const requireSnapshotBeforeChange: ResourceValidationPolicy = {
    name: "sshremedy-require-snapshot-before-change",
    description: "Changes to SSH access keep a snapshot to revert to: snapshotsKept >= 1, no raw HostCommand writing /etc/ssh.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        if (v) {
            const kept = args.props.snapshotsKept;
            if (typeof kept === "number" && kept < 1) {
                reportViolation(`${v.name}: snapshotsKept is ${kept}, so the change has no snapshot for the dead-man revert to restore; `
                    + "keep at least 1 (the default is 5).");
            }
            return;
        }
        const create = args.props.create;
        if (args.type !== hostCommandType || typeof create !== "string") return;
        const path = sshPathWritten(create);
        if (path !== undefined) {
            reportViolation(`${args.name}: this HostCommand's create script writes ${path} with no snapshot and no dead-man revert before it; `
                + "declare the change with SshdConfig or SshAccess, which snapshot first and verify a login after.");
        }
    },
};
