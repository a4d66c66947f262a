import { ResourceValidationPolicy } from "@pulumi/policy";
import { checkAccess, clientPattern, parseSource } from "../components/hosts-access/hosts-access";
import { loginView, sshAccessType } from "./declaration";

type FileDecl = { kind?: string; text?: string; entries?: string[] } | undefined;
const declared = (d: FileDecl) => (d?.kind === "content" ? d.text ?? "" : d?.kind === "entries" ? (d.entries ?? []).join("\n") : "");

/**
 * hosts_access(5) as declared must admit every login source: hosts.allow is read first (the
 * first matching rule decides), then hosts.deny. Judged on the declared rules, as the SshAccess
 * plan does; rules in the host's own files are amended by the component itself.
 */
export const disallowDeniedHostsAccessSource: ResourceValidationPolicy = {
    name: "sshremedy-hosts-access-disallow-denied-source",
    description: "The declared hosts.allow/hosts.deny admit sshd to every login source (the verifying one first).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        const ha = args.props.hostsAccess as { allow?: FileDecl; deny?: FileDecl; daemon?: string } | false | undefined;
        if (!v || args.type !== sshAccessType || !ha) return;
        const daemon = ha.daemon ?? "sshd";
        v.sources.forEach((text, i) => {
            const src = parseSource(text);
            if (!src) return;
            const c = checkAccess(declared(ha.allow), declared(ha.deny), daemon, src);
            if (c.verdict !== "denied") return;
            const b = c.blockers[c.blockers.length - 1];
            reportViolation(`${v.name}: hostsAccess.${b.file} rule '${b.rule.daemons.join(" ")} : ${b.rule.clients.join(" ")}' denies ${daemon} `
                + `to login.sources[${i}] ${text} and hostsAccess.allow does not admit it first; add '${daemon}: ${clientPattern(src)}' `
                + `to hostsAccess.allow or add 'EXCEPT ${clientPattern(src)}' to the rule.`);
        });
    },
};
