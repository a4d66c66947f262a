import { PolicyPack } from "@pulumi/policy";
import { policies } from "./all";
import { recordSecretPaths } from "./secret-paths";

// Before the pack serves a request: lets the plaintext-credentials policy see which inputs are secrets.
recordSecretPaths();

new PolicyPack("sshremedy", { policies });
