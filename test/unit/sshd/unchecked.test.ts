import { strict as assert } from "assert";
import { parseProbe, unknownKeywordLines, withoutBadLines } from "../../../components/sshd-config/plan";

/** [S12]+[S15]: sshd cannot load (a library is missing), so `sshd -t` names no bad line; the plan reads the keywords itself. */
describe("sshd_config checked without sshd (it cannot load)", () => {
    const text = "# comment\nPort 22\nPasswordAuthentication\u00a0 no\nPermitRootLogn no\nUsePAM yes\nMatch User bob\n    X11Forwarding no\nChallengeResponseAuthentication no\n";
    const why = "/usr/sbin/sshd: error while loading shared libraries: libwrap.so.0: cannot open shared object file";
    const b64 = (s: string) => Buffer.from(s).toString("base64");

    it("[S15] a keyword with a no-break space and a misspelt keyword are the bad lines; known keywords, aliases, Match bodies and comments are not", () => {
        assert.deepEqual(unknownKeywordLines(text, why).map((b) => b.line), [3, 4]);
        assert.match(unknownKeywordLines(text, why)[0].message, /sshd could not check this file \(.*libwrap.*\); 'PasswordAuthentication\u00a0' is not a keyword sshd knows/);
    });

    it("[S15] the probe's sshd_t_unavailable switches the plan to it, and the bad lines are commented out", () => {
        const probe = parseProbe(`config=${b64(text)}\nsshd_t=\nsshd_t_unavailable=${b64(why)}\nsshd_active=no\n`);
        assert.deepEqual(probe.badLines.map((b) => b.line), [3, 4]);
        const fixed = withoutBadLines(text, probe.badLines).split("\n");
        assert.match(fixed[2], /^# sshremedy: sshd refused this line \(sshd could not check .*\): PasswordAuthentication\? no$/);
        assert.match(fixed[3], /^# sshremedy: sshd refused this line .*: PermitRootLogn no$/);
        assert.equal(fixed[1], "Port 22");
    });

    it("without sshd_t_unavailable only the lines sshd -t named are bad (sshd knows its own keywords best)", () => {
        const probe = parseProbe(`config=${b64(text)}\nsshd_t=${b64("/etc/ssh/sshd_config line 4: Bad configuration option: PermitRootLogn")}\nsshd_active=no\n`);
        assert.deepEqual(probe.badLines.map((b) => b.line), [4]);
    });
});
