import { GateShape, itRepairs } from "../harness/gates";

/**
 * The key gate through index.ts with the smallest declaration (no hint of the fault): each shape
 * breaks alice's key login the way real hosts do, the real client shows it, one `pulumi up`
 * repairs it, and the evidence names the file and the cause.
 */
describe("[gate-key] the login key where sshd reads it, with the modes StrictModes demands", function () {
    this.timeout(600_000);
    const shapes: GateShape[] = [
        {
            title: "the key is gone from authorized_keys (another key is left)",
            breaks: "ssh-keygen -q -t ed25519 -N '' -f /tmp/other && cp /tmp/other.pub /home/alice/.ssh/authorized_keys",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /\/home\/alice\/\.ssh\/authorized_keys: does not hold the login key ssh-ed25519 for alice .*as sshd -T says/ },
        },
        {
            title: "~/.ssh is gone altogether",
            breaks: "rm -rf /home/alice/.ssh",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /\/home\/alice\/\.ssh\/authorized_keys: is absent, so it cannot hold the login key/ },
        },
        {
            title: "~/.ssh is world-writable (StrictModes)",
            breaks: "chmod 0777 /home/alice/.ssh",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /\/home\/alice\/\.ssh: a directory above the key file mode 0777 is group- or world-writable, which StrictModes refuses; chmod 0755/ },
        },
        {
            title: "the home directory is writable by a shared group (StrictModes)",
            breaks: "chgrp users /home/alice && chmod 0775 /home/alice",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /\/home\/alice: a directory above the key file mode 0775 is group- or world-writable/ },
        },
        {
            title: "authorized_keys belongs to another user (StrictModes)",
            breaks: "chown bob:bob /home/alice/.ssh/authorized_keys",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /authorized_keys: the key file owned by uid \d+, not alice or root, which StrictModes refuses; chown/ },
        },
        {
            title: "a drop-in moves AuthorizedKeysFile to a file the key is not in",
            breaks: "printf 'AuthorizedKeysFile .ssh/keys_from_dropin\\n' > /etc/ssh/sshd_config.d/10-keys.conf && systemctl restart ssh.service",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /\/home\/alice\/\.ssh\/keys_from_dropin: is absent, so it cannot hold the login key/ },
        },
    ];

    itRepairs("gate-key", shapes);
});
