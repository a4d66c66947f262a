import { strict as assert } from "assert";
import { parseRuntimeProbe, planRuntime, sshdRuntimeConcern } from "../../../components/sshd-runtime/sshd-runtime";

/** What sshd-runtime-probe.sh printed on a Debian bookworm test host (captured, trimmed). */
const healthy = `pkg_manager=dpkg
sshd=/usr/sbin/sshd
pam_security_dir=/lib/x86_64-linux-gnu/security
hostkey=absent /etc/ssh/ssh_host_rsa_key
hostkey=absent /etc/ssh/ssh_host_ecdsa_key
hostkey=present /etc/ssh/ssh_host_ed25519_key
`;

const libwrapArchive = "/var/cache/apt/archives/libwrap0_7.6.q-32_amd64.deb";
const pamArchive = "/var/cache/apt/archives/libpam-modules_1.5.2-6+deb12u2_amd64.deb";

/** S12 and S13 at once; the PAM walk reports its package twice, as the script may. */
const broken = `pkg_manager=dpkg
sshd=/usr/sbin/sshd
missing=library libwrap.so.0 /lib/x86_64-linux-gnu/libwrap.so.0
owner=libwrap0:amd64 /lib/x86_64-linux-gnu/libwrap.so.0
package=libwrap0:amd64 ${libwrapArchive}
package_missing=libwrap0:amd64 /usr/lib/x86_64-linux-gnu/libwrap.so.0.7.6
package_missing=libwrap0:amd64 /usr/lib/x86_64-linux-gnu/libwrap.so.0
pam_security_dir=/lib/x86_64-linux-gnu/security
missing=pam-module pam_loginuid.so /lib/x86_64-linux-gnu/security/pam_loginuid.so
owner=libpam-modules:amd64 /lib/x86_64-linux-gnu/security/pam_loginuid.so
package=libpam-modules:amd64 ${pamArchive}
package_missing=libpam-modules:amd64 /lib/x86_64-linux-gnu/security/pam_loginuid.so
missing=pam-module pam_loginuid.so /lib/x86_64-linux-gnu/security/pam_loginuid.so
owner=libpam-modules:amd64 /lib/x86_64-linux-gnu/security/pam_loginuid.so
package=libpam-modules:amd64 ${pamArchive}
package_missing=libpam-modules:amd64 /lib/x86_64-linux-gnu/security/pam_loginuid.so
hostkey=present /etc/ssh/ssh_host_ed25519_key
`;

const plan = (stdout: string, args = {}) => planRuntime(parseRuntimeProbe(stdout), args);

describe("sshd-runtime plan", () => {
    it("a host whose sshd has everything it needs: nothing pending, no steps, no restart", () => {
        const p = plan(healthy);
        assert.deepEqual(p, { pending: false, drift: [], paths: [], apply: [], restartSshd: false });
    });

    it("[S12][S13] reinstalls each owning package once, offline from its .deb, and snapshots every file of it that is gone", () => {
        const p = plan(broken);
        assert.equal(p.pending, true);
        assert.equal(p.restartSshd, true);
        assert.deepEqual(p.drift, [
            `/lib/x86_64-linux-gnu/libwrap.so.0: missing (shared library libwrap.so.0); reinstall libwrap0:amd64 from ${libwrapArchive}`,
            `/lib/x86_64-linux-gnu/security/pam_loginuid.so: missing (PAM module pam_loginuid.so); reinstall libpam-modules:amd64 from ${pamArchive}`,
        ]);
        assert.deepEqual(p.paths, [
            "/lib/x86_64-linux-gnu/libwrap.so.0",
            "/lib/x86_64-linux-gnu/security/pam_loginuid.so",
            "/usr/lib/x86_64-linux-gnu/libwrap.so.0.7.6",
            "/usr/lib/x86_64-linux-gnu/libwrap.so.0",
        ]);
        assert.equal(p.apply.length, 1);
        assert.equal(p.apply[0].script, "sshd-runtime/apply");
        assert.equal(p.apply[0].env?.SR_ARCHIVES, `${libwrapArchive}\n${pamArchive}`);
        assert.equal(p.apply[0].env?.SR_REINSTALL, "");
        assert.equal(p.apply[0].env?.SR_EXPECT, p.paths.join("\n"));
    });

    it("without the package's file on the host it reinstalls from the host's repositories", () => {
        const p = plan(broken.replace(`package=libwrap0:amd64 ${libwrapArchive}`, "package=libwrap0:amd64 -"));
        assert.match(p.drift[0], /reinstall libwrap0:amd64 from the host's repositories$/);
        assert.equal(p.apply[0].env?.SR_REINSTALL, "libwrap0:amd64");
        assert.equal(p.apply[0].env?.SR_ARCHIVES, pamArchive);
    });

    it("a declared source that exists wins over the package, matched by path or by the library's file name", () => {
        const sources = [{ path: "/usr/lib/x86_64-linux-gnu/libwrap.so.0", from: "/mnt/rescue/libwrap.so.0" }];
        const p = plan(`${broken}source=present /mnt/rescue/libwrap.so.0\n`, { sources });
        assert.equal(p.drift[0], "/usr/lib/x86_64-linux-gnu/libwrap.so.0: missing (shared library libwrap.so.0); copy from /mnt/rescue/libwrap.so.0");
        assert.equal(p.apply[0].env?.SR_SOURCES, "/usr/lib/x86_64-linux-gnu/libwrap.so.0\t/mnt/rescue/libwrap.so.0");
        assert.equal(p.apply[0].env?.SR_ARCHIVES, pamArchive);
        assert.ok(p.paths.includes("/usr/lib/x86_64-linux-gnu/libwrap.so.0"));
    });

    it("a declared source that is not on the host falls back to the package", () => {
        const sources = [{ path: "/lib/x86_64-linux-gnu/libwrap.so.0", from: "/mnt/gone" }];
        const p = plan(`${broken}source=absent /mnt/gone\n`, { sources });
        assert.match(p.drift[0], /reinstall libwrap0:amd64 from/);
        assert.equal(p.apply[0].env?.SR_SOURCES, "");
    });

    it("a missing file that no package owns and no source provides fails the plan with the fix", () => {
        const orphan = `${healthy}missing=pam-module pam_custom.so /lib/x86_64-linux-gnu/security/pam_custom.so\n`;
        assert.throws(() => plan(orphan),
            /^Error: sshd-runtime: \/lib\/x86_64-linux-gnu\/security\/pam_custom\.so \(PAM module pam_custom\.so\) is missing and no installed package owns it\. Fix: declare sources: \[\{ path: "\/lib\/x86_64-linux-gnu\/security\/pam_custom\.so"/);
        assert.throws(() => plan(orphan.replace("pkg_manager=dpkg", "pkg_manager=none")), /the host has no dpkg or rpm/);
    });

    it("no loadable host key: generates them and snapshots each key and .pub", () => {
        const p = plan(healthy.replace("hostkey=present", "hostkey=absent"));
        assert.deepEqual(p.drift, ["no host key sshd can load (/etc/ssh/ssh_host_rsa_key, /etc/ssh/ssh_host_ecdsa_key, /etc/ssh/ssh_host_ed25519_key); generate with ssh-keygen -A"]);
        assert.equal(p.paths.length, 6);
        assert.equal(p.apply[0].env?.SR_HOSTKEYS, "/etc/ssh/ssh_host_rsa_key\n/etc/ssh/ssh_host_ecdsa_key\n/etc/ssh/ssh_host_ed25519_key");
        assert.equal(p.restartSshd, true);
    });

    it("a missing privilege separation directory is made as sshd names it", () => {
        const p = plan(`${healthy}privsep_missing=/run/sshd\n`);
        assert.deepEqual(p.drift, ["/run/sshd: missing privilege separation directory"]);
        assert.deepEqual(p.paths, ["/run/sshd"]);
        assert.equal(p.apply[0].env?.SR_PRIVSEP, "/run/sshd");
    });

    it("paths with spaces survive the probe's lines", () => {
        const p = parseRuntimeProbe(`pkg_manager=rpm\nmissing=pam-module pam_x.so /opt/my pam/pam_x.so\nowner=pam-x /opt/my pam/pam_x.so\npackage=pam-x -\n`);
        assert.deepEqual(p.missing, [{ kind: "pam-module", name: "pam_x.so", path: "/opt/my pam/pam_x.so" }]);
        assert.equal(p.owners.get("/opt/my pam/pam_x.so"), "pam-x");
        assert.equal(p.archives.get("pam-x"), null);
    });

    it("refuses output that is not the probe's", () => {
        assert.throws(() => parseRuntimeProbe("hello\n"), /printed no pkg_manager= line/);
    });
});

describe("sshdRuntimeConcern", () => {
    it("passes its declaration to the probe as SR_* parameters, with defaults", () => {
        const c = sshdRuntimeConcern({ sources: [{ path: "/lib/a.so", from: "/mnt/a.so" }] });
        assert.equal(c.name, "sshd-runtime");
        assert.deepEqual(c.probe, {
            script: "sshd-runtime/probe",
            env: { SR_PAM_SERVICE: "/etc/pam.d/sshd", SR_PACKAGE_DIRS: "/var/cache/apt/archives", SR_SOURCES_FROM: "/mnt/a.so" },
        });
        assert.deepEqual(c.declaration, {
            sources: [{ path: "/lib/a.so", from: "/mnt/a.so" }], packageDirs: ["/var/cache/apt/archives"], pamService: "/etc/pam.d/sshd",
        });
    });

    it("refuses paths that are relative, hold a tab or newline, or climb with '..', naming the argument", () => {
        assert.throws(() => sshdRuntimeConcern({ sources: [{ path: "lib/a.so", from: "/mnt/a" }] }), /sources\[0\]\.path: must be an absolute path/);
        assert.throws(() => sshdRuntimeConcern({ sources: [{ path: "/lib/a", from: "/mnt/a\tb" }] }), /sources\[0\]\.from/);
        assert.throws(() => sshdRuntimeConcern({ packageDirs: ["/var/../etc"] }), /packageDirs\[0\]/);
        assert.throws(() => sshdRuntimeConcern({ pamService: "/etc/pam.d/sshd\nx" }), /pamService/);
    });
});

describe("sshd-runtime: sshd starts with the host [gate-daemon]", () => {
    it("[gate-daemon] a disabled unit without socket activation is enabled, and its links are in the snapshot", () => {
        const p = planRuntime(parseRuntimeProbe(`${healthy}unit=ssh.service disabled disabled\n`));
        assert.deepEqual(p.drift, ["ssh.service is disabled (and ssh.socket is disabled): sshd would not start at the next boot; systemctl enable ssh.service"]);
        assert.equal(p.apply[0].env?.SR_ENABLE, "ssh.service");
        assert.ok(p.paths.includes("/etc/systemd/system/multi-user.target.wants/ssh.service"));
    });
    it("an enabled unit, or a disabled one that ssh.socket activates, needs nothing", () => {
        assert.equal(planRuntime(parseRuntimeProbe(`${healthy}unit=ssh.service enabled absent\n`)).pending, false);
        assert.equal(planRuntime(parseRuntimeProbe(`${healthy}unit=ssh.service disabled enabled\n`)).pending, false);
    });
});
