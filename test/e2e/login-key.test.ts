import { itRepairs } from "../harness/gates";
import { gateShapes } from "../harness/gate-shapes";

/**
 * The key gate through index.ts with the smallest declaration (no hint of the fault): each shape
 * breaks alice's key login the way real hosts do, the real client shows it, one `pulumi up`
 * repairs it, and the evidence names the file and the cause.
 */
describe("[gate-key] the login key where sshd reads it, with the modes StrictModes demands", function () {
    this.timeout(600_000);
    itRepairs("gate-key", gateShapes["gate-key"]);
});
