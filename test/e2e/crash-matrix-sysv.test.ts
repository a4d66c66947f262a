import { crashMatrix } from "../harness/crash-matrix";

// [crash-matrix] on a host whose sshd runs under a SysV init script (the dead-man is a detached waiter).
crashMatrix("sysv");
