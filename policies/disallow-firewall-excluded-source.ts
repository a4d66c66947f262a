import { ResourceValidationPolicy } from "@pulumi/policy";
import { parseSource } from "../components/hosts-access/hosts-access";
import { loginView, show, sshAccessType } from "./declaration";
import { holds } from "./network";

/**
 * The SSH port's allowlist must hold every login source, the verifying one first: anything else
 * is dropped by the firewall before sshd sees it. An empty list admits nobody.
 */
export const disallowFirewallExcludedSource: ResourceValidationPolicy = {
    name: "sshremedy-firewall-disallow-excluded-source",
    description: "The declared firewall allowlist is not empty and holds every login source.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        const fw = args.props.firewall as { allow?: unknown[] } | false | undefined;
        if (!v || args.type !== sshAccessType || !fw || !Array.isArray(fw.allow)) return;
        const allow = fw.allow.map(String);
        if (allow.length === 0) {
            reportViolation(`${v.name}: firewall.allow is [], which admits nobody to port ${v.port}; `
                + "list the login's sources (or omit allow to use login.sources), or set firewall to false to leave the firewall alone.");
            return;
        }
        v.sources.forEach((text, i) => {
            const src = parseSource(text);
            if (src && !allow.some((a) => holds(a, src))) {
                reportViolation(`${v.name}: firewall.allow ${show(allow)} does not hold login.sources[${i}] ${text}, so its SSH connections `
                    + `are dropped; add '${text}' (or a CIDR that holds it) to firewall.allow.`);
            }
        });
    },
};
