import { itRepairs } from "../harness/gates";
import { gateShapes } from "../harness/gate-shapes";

/** The daemon gate through index.ts with the smallest declaration: sshd able to start and to stay up. */
describe("[gate-daemon] sshd has a configuration it can read, and starts with the host", function () {
    this.timeout(600_000);
    itRepairs("gate-daemon", gateShapes["gate-daemon"]);
});
