/**
 * sshd_config keywords, as spelled in sshd_config(5). Lookups are case-insensitive, as sshd's are.
 */

/**
 * Every server keyword of OpenSSH 9.0 to 9.9, plus the GSSAPI key-exchange patch Debian and RHEL
 * ship and Debian's DebianBanner. A keyword newer than a host's sshd (PerSourcePenalties and
 * SshdSessionPath arrived in 9.8) is refused there by `sshd -t` when the file is staged.
 */
export const SERVER_KEYWORDS: readonly string[] = [
    "AcceptEnv", "AddressFamily", "AllowAgentForwarding", "AllowGroups", "AllowStreamLocalForwarding",
    "AllowTcpForwarding", "AllowUsers", "AuthenticationMethods", "AuthorizedKeysCommand",
    "AuthorizedKeysCommandUser", "AuthorizedKeysFile", "AuthorizedPrincipalsCommand",
    "AuthorizedPrincipalsCommandUser", "AuthorizedPrincipalsFile", "Banner", "CASignatureAlgorithms",
    "ChannelTimeout", "ChrootDirectory", "Ciphers", "ClientAliveCountMax", "ClientAliveInterval",
    "Compression", "DebianBanner", "DenyGroups", "DenyUsers", "DisableForwarding", "ExposeAuthInfo", "FingerprintHash",
    "ForceCommand", "GatewayPorts", "GSSAPIAuthentication", "GSSAPICleanupCredentials",
    "GSSAPIKeyExchange", "GSSAPIKexAlgorithms", "GSSAPIStoreCredentialsOnRekey",
    "GSSAPIStrictAcceptorCheck", "HostbasedAcceptedAlgorithms", "HostbasedAuthentication",
    "HostbasedUsesNameFromPacketOnly", "HostCertificate", "HostKey", "HostKeyAgent", "HostKeyAlgorithms",
    "IgnoreRhosts", "IgnoreUserKnownHosts", "Include", "IPQoS", "KbdInteractiveAuthentication",
    "KerberosAuthentication", "KerberosGetAFSToken", "KerberosOrLocalPasswd", "KerberosTicketCleanup",
    "KexAlgorithms", "ListenAddress", "LoginGraceTime", "LogLevel", "LogVerbose", "MACs", "Match",
    "MaxAuthTries", "MaxSessions", "MaxStartups", "ModuliFile", "PasswordAuthentication",
    "PermitEmptyPasswords", "PermitListen", "PermitOpen", "PermitRootLogin", "PermitTTY", "PermitTunnel",
    "PermitUserEnvironment", "PermitUserRC", "PerSourceMaxStartups", "PerSourceNetBlockSize",
    "PerSourcePenalties", "PerSourcePenaltyExemptList", "PidFile", "Port", "PrintLastLog", "PrintMotd",
    "PubkeyAcceptedAlgorithms", "PubkeyAuthentication", "PubkeyAuthOptions", "RDomain", "RekeyLimit",
    "RequiredRSASize", "RevokedKeys", "SecurityKeyProvider", "SetEnv", "SshdSessionPath",
    "StreamLocalBindMask", "StreamLocalBindUnlink", "StrictModes", "Subsystem", "SyslogFacility",
    "TCPKeepAlive", "TrustedUserCAKeys", "UnusedConnectionTimeout", "UseDNS", "UsePAM",
    "VersionAddendum", "X11DisplayOffset", "X11Forwarding", "X11UseLocalhost", "XAuthLocation",
];

/** Keywords sshd_config(5) allows after a `Match` line. */
export const MATCH_KEYWORDS: readonly string[] = [
    "AcceptEnv", "AllowAgentForwarding", "AllowGroups", "AllowStreamLocalForwarding", "AllowTcpForwarding",
    "AllowUsers", "AuthenticationMethods", "AuthorizedKeysCommand", "AuthorizedKeysCommandUser",
    "AuthorizedKeysFile", "AuthorizedPrincipalsCommand", "AuthorizedPrincipalsCommandUser",
    "AuthorizedPrincipalsFile", "Banner", "CASignatureAlgorithms", "ChannelTimeout", "ChrootDirectory",
    "ClientAliveCountMax", "ClientAliveInterval", "DenyGroups", "DenyUsers", "DisableForwarding",
    "ExposeAuthInfo", "ForceCommand", "GatewayPorts", "GSSAPIAuthentication", "HostbasedAcceptedAlgorithms",
    "HostbasedAuthentication", "HostbasedUsesNameFromPacketOnly", "IgnoreRhosts", "IPQoS",
    "KbdInteractiveAuthentication", "KerberosAuthentication", "LogLevel", "LogVerbose", "MaxAuthTries",
    "MaxSessions", "PasswordAuthentication", "PermitEmptyPasswords", "PermitListen", "PermitOpen",
    "PermitRootLogin", "PermitTTY", "PermitTunnel", "PermitUserRC", "PubkeyAcceptedAlgorithms",
    "PubkeyAuthentication", "PubkeyAuthOptions", "RDomain", "RekeyLimit", "RequiredRSASize", "RevokedKeys",
    "SetEnv", "StreamLocalBindMask", "StreamLocalBindUnlink", "TrustedUserCAKeys",
    "UnusedConnectionTimeout", "X11DisplayOffset", "X11Forwarding", "X11UseLocalhost",
];

/** Keywords `extra` refuses because passing them raw would let input restructure the file. */
export const RAW_REFUSED: ReadonlyMap<string, string> = new Map([
    ["include", "an Include pulls in files this module does not validate; manage drop-ins with neutraliseDropIn instead"],
    ["match", "a Match line turns every following line into a conditional block; declare it with the `match` argument"],
]);

/** Old spellings sshd still accepts as aliases; writing them would duplicate the keyword they alias. */
export const ALIASES: ReadonlyMap<string, string> = new Map([
    ["challengeresponseauthentication", "KbdInteractiveAuthentication"],
    ["pubkeyacceptedkeytypes", "PubkeyAcceptedAlgorithms"],
    ["hostbasedacceptedkeytypes", "HostbasedAcceptedAlgorithms"],
    ["dsaauthentication", "PubkeyAuthentication"],
]);

const BY_LOWER: ReadonlyMap<string, string> = new Map(SERVER_KEYWORDS.map((k) => [k.toLowerCase(), k]));
const MATCH_LOWER: ReadonlySet<string> = new Set(MATCH_KEYWORDS.map((k) => k.toLowerCase()));

/** The sshd_config(5) spelling of a keyword, or undefined when sshd does not know it. */
export function canonicalKeyword(keyword: string): string | undefined {
    return BY_LOWER.get(keyword.toLowerCase());
}

export function allowedInMatch(keyword: string): boolean {
    return MATCH_LOWER.has(keyword.toLowerCase());
}

/**
 * The keyword of one sshd_config line, lowercased, or undefined for blank and comment lines.
 * sshd accepts `Keyword value` and `Keyword=value`.
 */
export function lineKeyword(line: string): string | undefined {
    const m = /^[ \t]*([^\s#=]+)/.exec(line);
    return m ? m[1].toLowerCase() : undefined;
}
