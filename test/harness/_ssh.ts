import { createHost, destroyHost, ensureClientKeys } from "./lab";
import { run } from "./exec";
(async () => {
    const h = await createHost();
    const k = await ensureClientKeys();
    try {
        for (const kex of ["", "curve25519-sha256"]) {
            const argv = ["ssh", "-F", "/dev/null", "-i", k.main, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", ...(kex ? ["-o", `KexAlgorithms=${kex}`] : []), `root@${h.address}`, "true"];
            const r = await run(["bash", "-c", `TIMEFORMAT='%R real %U user %S sys'; time (for i in 1 2 3 4 5 6 7 8 9 10; do "$@"; done)`, "x", ...argv]);
            console.log(kex || "default", r.stderr.trim().split("\n").slice(-1)[0]);
        }
    } finally { await destroyHost(h); }
})();
