import { crashMatrix } from "../harness/crash-matrix";

// [crash-matrix] on a host whose sshd runs under systemd (the dead-man is a systemd timer).
crashMatrix("systemd");
