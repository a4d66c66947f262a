import { strict as assert } from "assert";
import { KnownSshAccessArgs, sshAccessConcerns } from "../../components/ssh-access";

/** Which concerns SshAccess wires for a host, in which order, and what it refuses (no host needed). */
describe("SshAccess concerns", () => {
    const smallest: KnownSshAccessArgs = {
        login: { address: "198.18.0.2", user: "alice", privateKey: "key", sources: ["198.18.0.1"] },
    };

    it("keeps the current path open longest: firewall, hosts files, SELinux, runtime, sshd_config last", () => {
        assert.deepEqual(sshAccessConcerns(smallest).map((c) => c.name),
            ["firewall-allowlist", "hosts-access", "selinux-mode", "sshd-runtime", "account", "sshd-config"]);
    });

    it("[gate-key] a key login with its public half gets the key gate before sshd_config, asking sshd about the verifying connection", () => {
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        const concerns = sshAccessConcerns({ ...smallest, login: { ...smallest.login, publicKey: key } });
        assert.deepEqual(concerns.map((c) => c.name), ["firewall-allowlist", "hosts-access", "selinux-mode", "sshd-runtime", "account", "login-key", "sshd-config"]);
        assert.deepEqual(concerns.find((c) => c.name === "login-key")!.declaration,
            { user: "alice", publicKey: key, connection: "user=alice,host=198.18.0.1,addr=198.18.0.1,laddr=198.18.0.2,lport=22" });
        assert.equal(sshAccessConcerns({ ...smallest, authorizedKeys: false, login: { ...smallest.login, publicKey: key } })
            .some((c) => c.name === "login-key"), false);
    });

    it("admits the login in sshd_config by default and relabels the login's ~/.ssh", () => {
        const concerns = sshAccessConcerns(smallest);
        const sshd = concerns.find((c) => c.name === "sshd-config")!.declaration as { admit: unknown };
        assert.deepEqual(sshd.admit, { user: "alice", method: "key", address: "198.18.0.2", source: "198.18.0.1", port: 22 });
        const selinux = concerns.find((c) => c.name === "selinux-mode")!.declaration as { relabelUsers: string[]; mode: string };
        assert.deepEqual(selinux.relabelUsers, ["alice"]);
        assert.equal(selinux.mode, "enforcing");
    });

    it("a password login is declared as such, so password authentication is switched on explicitly", () => {
        const concerns = sshAccessConcerns({ ...smallest, login: { ...smallest.login, privateKey: undefined, password: "pw" } });
        const sshd = concerns.find((c) => c.name === "sshd-config")!.declaration as { admit: { method: string } };
        assert.equal(sshd.admit.method, "password");
    });

    it("leaves out what is switched off, and the source-based concerns when no source is declared", () => {
        assert.deepEqual(sshAccessConcerns({ ...smallest, firewall: false, selinux: false, runtime: false }).map((c) => c.name),
            ["hosts-access", "account", "sshd-config"]);
        assert.deepEqual(sshAccessConcerns({ ...smallest, login: { ...smallest.login, sources: [] } }).map((c) => c.name),
            ["selinux-mode", "sshd-runtime", "account", "sshd-config"]);
    });

    it("refuses bad input naming the argument", () => {
        assert.throws(() => sshAccessConcerns({ ...smallest, login: { ...smallest.login, address: "h; rm -rf /" } }), /^DeclarationError: login\.address: /);
        assert.throws(() => sshAccessConcerns({ ...smallest, login: { ...smallest.login, privateKey: undefined } }), /^DeclarationError: login: has neither/);
        assert.throws(() => sshAccessConcerns({ ...smallest, sshd: { settings: { allowUsers: [] } } }), /^DeclarationError: sshd\.settings\.allowUsers: /);
        assert.throws(() => sshAccessConcerns({ ...smallest, firewall: { allow: ["10.0.0.0/8; reboot"] } }), /^DeclarationError: firewall\.allow\[0\]: /);
        assert.throws(() => sshAccessConcerns({ ...smallest, login: { ...smallest.login, sources: ["198.18.0.1", "10.0.0.1/8"] } }),
            /^DeclarationError: login\.sources\[1\]: '10\.0\.0\.1\/8' is not an IP address or CIDR/);
        assert.throws(() => sshAccessConcerns({ ...smallest, hostsAccess: { deny: { kind: "entries", entries: ["sshd: ALL"] } } }),
            /^DeclarationError: hostsAccess\.deny: the declared rule 'sshd : ALL' denies sshd to 198\.18\.0\.1/);
        assert.throws(() => sshAccessConcerns({ ...smallest, login: { ...smallest.login, hostKey: "ssh-ed25519 not base64!" } }), /^DeclarationError: login\.hostKey: /);
    });
});
