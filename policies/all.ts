import type { Policy } from "@pulumi/policy";
import { disallowDeniedHostsAccessSource } from "./disallow-denied-hosts-access-source";
import { disallowDisabledLoginMethod } from "./disallow-disabled-login-method";
import { disallowExcludedLoginUser } from "./disallow-excluded-login-user";
import { disallowFirewallExcludedSource } from "./disallow-firewall-excluded-source";
import { disallowPlaintextCredentials } from "./disallow-plaintext-credentials";
import { disallowRefusedRootLogin } from "./disallow-refused-root-login";
import { disallowRootLoginYes } from "./disallow-root-login-yes";
import { disallowRootPasswordLogin } from "./disallow-root-password-login";
import { disallowSshOpenToWorld } from "./disallow-ssh-open-to-world";
import { disallowUnreachableListenAddress } from "./disallow-unreachable-listen-address";
import { disallowWeakSelinuxMode } from "./disallow-weak-selinux-mode";
import { limitMaxAuthTries } from "./limit-max-auth-tries";
import { requireHostKeyForSshHostCommand } from "./require-host-key-for-ssh-host-command";
import { requireMaxAuthTriesForKeys } from "./require-max-auth-tries-for-keys";
import { requireMaxStartupsRandomEarlyDrop } from "./require-max-startups-random-early-drop";
import { requireSnapshotBeforeChange } from "./require-snapshot-before-change";
import { disallowUnattendedRescueMode } from "./disallow-unattended-rescue-mode";

/** Lockouts first (mandatory by default), then posture (advisory); one policy per file. */
export const policies: Policy[] = [
    disallowExcludedLoginUser,
    disallowDisabledLoginMethod,
    disallowRefusedRootLogin,
    disallowDeniedHostsAccessSource,
    disallowFirewallExcludedSource,
    requireMaxAuthTriesForKeys,
    disallowUnreachableListenAddress,
    requireSnapshotBeforeChange,
    disallowWeakSelinuxMode,
    disallowRootLoginYes,
    disallowRootPasswordLogin,
    disallowSshOpenToWorld,
    limitMaxAuthTries,
    requireMaxStartupsRandomEarlyDrop,
    disallowPlaintextCredentials,
    requireHostKeyForSshHostCommand,
    disallowUnattendedRescueMode,
];

