import { itRepairs } from "../harness/gates";
import { gateShapes } from "../harness/gate-shapes";

/**
 * The network path on the host, through index.ts with the smallest declaration: chain policies as
 * well as rules, in any table, and the port sshd really listens on, end to end.
 */
describe("[gate-network] the login's port is open from its source, end to end", function () {
    this.timeout(600_000);
    itRepairs("gate-network", gateShapes["gate-network"]);
});
