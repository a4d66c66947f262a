import { createHost, destroyHost, ensureClientKeys } from "./lab";
import { sshLogin } from "./ssh";
(async () => {
  const h = await createHost({});
  const k = await ensureClientKeys();
  await h.consoleOk("rm -f /lib/x86_64-linux-gnu/security/pam_loginuid.so /usr/lib/x86_64-linux-gnu/security/pam_loginuid.so");
  const r = await sshLogin({ address: h.address, user: "alice", keys: [k.main] });
  console.log(JSON.stringify(r));
  const r2 = await sshLogin({ address: h.address, user: "alice", keys: [k.main], command: "true" });
  console.log(JSON.stringify(r2));
  console.log((await h.sshdLog()).split("\n").slice(-12).join("\n"));
  await destroyHost(h);
})().catch(e => { console.error(e); process.exit(1); });
