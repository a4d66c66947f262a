/**
 * The sshremedy library, as other stacks install it (`npm install sshremedy`):
 *
 *     import { SshAccess } from "sshremedy";
 *
 * The policy pack ships in the same package: `pulumi preview --policy-pack node_modules/sshremedy/dist/policies`.
 * Only what is named here is public; everything else under dist/ is the implementation.
 */

// The components and their arguments.
export { FirewallAllowlist, HostsAccess, SelinuxMode, SshAccess, SshdRuntime } from "./ssh-access";
export type {
    AccessArgs, FirewallAllowlistComponentArgs, FirewallDeclaration, HostsAccessComponentArgs, HostsAccessDeclaration, LoginArgs,
    SelinuxModeComponentArgs, SshAccessArgs, SshdRuntimeComponentArgs,
} from "./ssh-access";
export { SshdConfig } from "./sshd-config/sshd-config";
export type { SshdConfigArgs, SshdConfigDeclaration, VerifyLoginArgs } from "./sshd-config/sshd-config";

// Each concern's declaration, as SshAccess takes it (`sshd`, `hostsAccess`, `firewall`, `selinux`, `runtime`).
export type { FirewallAllowlistArgs } from "./firewall-allowlist/firewall-allowlist";
export type { HostsAccessArgs, HostsFileDeclaration } from "./hosts-access/hosts-access";
export type { SelinuxMode as SelinuxModeName, SelinuxModeArgs } from "./selinux-mode/selinux-mode";
export type { RuntimeSource, SshdRuntimeArgs } from "./sshd-runtime/sshd-runtime";
export type { SshdMode } from "./sshd-config/plan";
export type {
    AddressFamily, PermitRootLogin, SshdDirective, SshdMatchBlock, SshdMatchCriteria, SshdMatchSettings, SshdSettings,
} from "./sshd-config/validate";

// Errors a bad declaration raises before anything reaches a host.
export { DeclarationError, isDeclarationError } from "./core/errors";

// How scripts reach a host, and the one-script resource the components are built from.
export { HostCommand } from "./core/transport";
export type { CommandTarget, CommandTargetInput, ConsoleTarget, HostCommandArgs, SshTarget } from "./core/transport";

// Tencent Cloud: the `tat` target, the cloud-side options, and the settings the API calls use.
export type { TatTargetInput } from "./core/transport";
export type { TencentOptions } from "./declaration";
export { resolveTencentSettings } from "./tencent/settings";
export type { TencentEndpoint, TencentSettings, TencentSettingsArgs } from "./tencent/settings";

// The diagnosis, as `sshremedy diagnose` makes it and SshAccess exports it (`diagnosis`).
export { diagnose } from "./cli/diagnose";
export type { DiagnoseLogin, DiagnoseOptions, Diagnosis } from "./cli/diagnose";
export type { Cause, CauseId } from "./cli/causes";
export type { LoginSymptom, SymptomKind } from "./cli/symptoms";
export type { Diagnosed } from "./core/pipeline";
