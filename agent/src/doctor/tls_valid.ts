// "TLS valid": a TLS handshake with each wss:// gateway, checked against the trust store the
// agent itself uses. A campus proxy that inspects TLS, or a clock years off, fails here.
import { isCleartextRemote } from "../session/server_url.ts";
import { type Check, type CheckResult, hostPort, messageOf, withDeadline } from "./check.ts";

export const tlsValid: Check = async (ctx) => {
  if (ctx.servers.length === 0) return { name: "TLS valid", status: "skip", detail: "no gateway address to check (not enrolled)" };
  const results: CheckResult[] = [];
  for (const server of ctx.servers) {
    const { hostname, port, tls } = hostPort(server);
    if (!tls) {
      results.push(
        isCleartextRemote(server)
          ? {
            name: "TLS valid",
            status: "warn",
            detail: `${server} is ws:// to another host: frames and the credential cross the network in clear text`,
            fix: "enroll with a wss:// address",
          }
          : { name: "TLS valid", status: "ok", detail: `${server} is ws:// on this machine (no TLS needed)` },
      );
      continue;
    }
    try {
      const conn = await withDeadline(Deno.connectTls({ hostname, port, caCerts: ctx.caCerts }), ctx.timeoutMs, `TLS to ${hostname}:${port}`, (c) => c.close());
      try {
        await withDeadline(conn.handshake(), ctx.timeoutMs, `TLS handshake with ${hostname}:${port}`);
      } finally {
        conn.close();
      }
      results.push({ name: "TLS valid", status: "ok", detail: `${hostname}:${port} presented a certificate this machine trusts` });
    } catch (e) {
      results.push({
        name: "TLS valid",
        status: "fail",
        detail: `${hostname}:${port}: ${messageOf(e)}`,
        fix:
          "a TLS-inspecting campus proxy needs its CA trusted: set DENO_TLS_CA_STORE=system (the OS store) or DENO_CERT=<ca.pem> for the service; also check the clock",
      });
    }
  }
  return results;
};
