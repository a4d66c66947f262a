import { ResourceValidationPolicy } from "@pulumi/policy";
import { parseIp } from "../components/core/ip";
import { listenAddress } from "../components/sshd-config/values";
import { list, loginView, show } from "./declaration";

/**
 * sshd must listen where the login connects: AddressFamily of the login address's family, and a
 * ListenAddress list holding that address or the family's wildcard on the login's port (sshd
 * binds `::` IPv6-only, so `::` does not take IPv4 logins).
 */
export const disallowUnreachableListenAddress: ResourceValidationPolicy = {
    name: "sshremedy-sshd-disallow-unreachable-listen-address",
    description: "AddressFamily and ListenAddress let sshd accept connections on the login's address and port.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const v = loginView(args);
        const ip = v && parseIp(v.address);
        if (!v || !ip) return;
        const s = v.settings;
        const want = ip.family === 4 ? "inet" : "inet6";
        if (s.addressFamily === "inet" || s.addressFamily === "inet6") {
            if (s.addressFamily !== want) {
                reportViolation(`${v.name}: ${v.settingsPath}.addressFamily is "${s.addressFamily}" but ${v.addressField} ${v.address} is IPv${ip.family}, `
                    + `so sshd never accepts the login; set addressFamily to "any" (or "${want}").`);
            }
        }
        const entries = list(s.listenAddress);
        if (entries.length === 0) return;
        const wildcard = ip.family === 4 ? "0.0.0.0" : "::";
        const sshdPort = typeof s.port === "number" ? s.port : 22;
        const reaches = entries.some((e) => {
            try {
                const a = listenAddress(e, "listenAddress");
                const host = parseIp(a.canonical);
                return host !== undefined && host.family === ip.family && (host.value === ip.value || host.value === 0n)
                    && (a.port ?? sshdPort) === v.port;
            } catch {
                return false;
            }
        });
        if (!reaches) {
            reportViolation(`${v.name}: ${v.settingsPath}.listenAddress ${show(entries)} holds neither ${v.address} nor ${wildcard} on port ${v.port}, `
                + `so sshd does not listen where ${v.loginPath} connects; add "${v.address}" or "${wildcard}" to listenAddress.`);
        }
    },
};
