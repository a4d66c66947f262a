import { GateShape, itRepairs } from "../harness/gates";

/** The daemon gate through index.ts with the smallest declaration: sshd able to start and to stay up. */
describe("[gate-daemon] sshd has a configuration it can read, and starts with the host", function () {
    this.timeout(600_000);
    const shapes: GateShape[] = [
        { title: "sshd_config deleted", breaks: "rm /etc/ssh/sshd_config && systemctl restart ssh.service || true" },
        { title: "sshd_config saved with a byte-order mark (sshd: no argument after keyword \"\\357\\273\\277\")", breaks: "printf '\\357\\273\\277' | cat - /etc/ssh/sshd_config > /tmp/c && cat /tmp/c > /etc/ssh/sshd_config && systemctl restart ssh.service || true" },
        { title: "the ssh unit stopped and disabled", breaks: "systemctl disable --now ssh.service", after: "systemctl is-enabled ssh.service" },
    ];

    itRepairs("gate-daemon", shapes);
});
