import { PolicyPack } from "@pulumi/policy";
import { requireHostKeyForSshHostCommand } from "./require-host-key-for-ssh-host-command";

// One policy per file; the pack only lists them. The lockout and posture policies of the
// components arrive with the components themselves.
new PolicyPack("sshremedy", {
    policies: [requireHostKeyForSshHostCommand],
});
