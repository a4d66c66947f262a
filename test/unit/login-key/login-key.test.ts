import { strict as assert } from "assert";
import { loginKeyConcern, parseLoginKeyProbe, planLoginKey, publicKeyText } from "../../../components/login-key/login-key";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const args = { user: "alice", publicKey: key, connection: "user=alice,host=198.18.0.1,addr=198.18.0.1" };

/** A probe's output for alice (uid 1000) with one authorized_keys file and the directories above it. */
function probe(o: { file?: string; dirs?: string[]; strict?: "yes" | "no"; source?: string; privateGroup?: string; groupModes?: string } = {}): string {
    return [
        "account=present", "uid=1000", "gid=1000", "home=/home/alice", `private_group=${o.privateGroup ?? "yes"}`, `group_modes=${o.groupModes ?? "debian"}`, `akf_source=${o.source ?? "sshd"}`, `strictmodes=${o.strict ?? "yes"}`,
        `akf=${b64("/home/alice/.ssh/authorized_keys")} ${o.file ?? "yes 1000 1000 600 yes"}`,
        ...(o.dirs ?? ["/home/alice/.ssh 1000 1000 700", "/home/alice 1000 1000 755"]).map((d) => {
            const [p, uid, gid, mode] = d.split(" ");
            return `sm=${b64(p)} ${uid} ${gid} ${mode}`;
        }),
    ].join("\n");
}
const plan = (text: string) => planLoginKey(parseLoginKeyProbe(text), args);

describe("login-key concern [gate-key]", () => {
    it("[gate-key] a file that holds the key, with sound modes: nothing pending", () => {
        const p = plan(probe());
        assert.equal(p.pending, false);
        assert.deepEqual(p.apply, []);
    });

    it("[gate-key] the key missing from the file sshd reads: added, nothing else touched", () => {
        const p = plan(probe({ file: "yes 1000 1000 600 no" }));
        assert.deepEqual(p.drift, ["/home/alice/.ssh/authorized_keys: does not hold the login key ssh-ed25519 for alice "
            + "(sshd reads /home/alice/.ssh/authorized_keys, as sshd -T says); add it"]);
        assert.deepEqual(p.apply[0].env, { SR_OWNER: "1000:1000", SR_KEY_FILE: "/home/alice/.ssh/authorized_keys", SR_KEY_LINE: key });
        assert.deepEqual(p.paths, ["/home/alice/.ssh/authorized_keys"]);
    });

    it("[gate-key] no ~/.ssh at all: the directory is created with the file", () => {
        const p = plan(probe({ file: "no - - - no", dirs: ["/home/alice 1000 1000 755"] }));
        assert.equal(p.apply[0].env?.SR_KEY_DIR, "/home/alice/.ssh");
        assert.deepEqual(p.paths, ["/home/alice/.ssh", "/home/alice/.ssh/authorized_keys"]);
    });

    it("[gate-key] StrictModes: a world-writable ~/.ssh and a key file owned by someone else are repaired, with the evidence", () => {
        const p = plan(probe({ file: "yes 1001 1001 644 yes", dirs: ["/home/alice/.ssh 1000 1000 777", "/home/alice 1000 100 775"] }));
        assert.deepEqual(p.drift, [
            "/home/alice/.ssh/authorized_keys: the key file owned by uid 1001, not alice or root, which StrictModes refuses; chown 1000:1000",
            "/home/alice/.ssh: a directory above the key file mode 0777 is group- or world-writable, which StrictModes refuses; chmod 0755",
            "/home/alice: a directory above the key file mode 0775 is group- or world-writable, which StrictModes refuses; chmod 0755",
        ]);
        assert.equal(p.apply[0].env?.SR_CHOWNS, "1000:1000\t/home/alice/.ssh/authorized_keys");
        assert.equal(p.apply[0].env?.SR_CHMODS, "0755\t/home/alice/.ssh\n0755\t/home/alice");
        // Owners and modes are recorded for the revert, not the home's contents.
        assert.deepEqual(p.modes, ["/home/alice/.ssh/authorized_keys", "/home/alice/.ssh", "/home/alice"]);
        assert.deepEqual(p.paths, []);
    });

    it("StrictModes no: modes are sshd's business no more", () => {
        assert.equal(plan(probe({ strict: "no", dirs: ["/home/alice/.ssh 1000 1000 777"] })).pending, false);
    });

    it("[gate-key] a home writable by the user's own private group: Debian's sshd accepts it, upstream's refuses it", () => {
        const dirs = ["/home/alice/.ssh 1000 1000 700", "/home/alice 1000 1000 775"];
        assert.equal(plan(probe({ dirs })).pending, false);
        assert.equal(plan(probe({ dirs, groupModes: "upstream" })).apply[0].env?.SR_CHMODS, "0755\t/home/alice");
        assert.equal(plan(probe({ dirs, privateGroup: "no" })).apply[0].env?.SR_CHMODS, "0755\t/home/alice");
    });

    it("an absent account is left to the account gate", () => {
        assert.equal(planLoginKey(parseLoginKeyProbe("account=absent"), args).pending, false);
    });

    it("takes the key's type and blob from a .pub line, with or without a comment, and refuses anything else", () => {
        assert.equal(publicKeyText("k", `${key} alice@laptop`), key);
        assert.throws(() => publicKeyText("login.publicKey", "not a key"), /^DeclarationError: login\.publicKey: /);
        assert.equal(loginKeyConcern({ ...args, publicKey: `${key} c` }).probe.env?.SR_KEY, key);
    });
});
