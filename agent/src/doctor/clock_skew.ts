// "clock skew": this machine's clock against the gateway's (gateway_clock.ts). A clock far
// off breaks TLS certificate checks and makes log times useless for tracing a job.
import { type Check, messageOf } from "./check.ts";
import { measureGatewaySkew } from "./gateway_clock.ts";

export const clockSkew: Check = async (ctx) => {
  const name = "clock skew";
  const failures: string[] = [];
  for (const server of ctx.servers) {
    const client = ctx.caCerts ? Deno.createHttpClient({ caCerts: ctx.caCerts }) : undefined;
    try {
      const m = await measureGatewaySkew(server, { now: ctx.now, timeoutMs: ctx.timeoutMs, client });
      const secs = (Math.abs(m.skewMs) / 1000).toFixed(1);
      const side = m.skewMs > 0 ? "behind" : "ahead of";
      if (Math.abs(m.skewMs) > ctx.maxSkewMs) {
        return {
          name,
          status: "fail",
          detail: `this clock is ${secs} s ${side} ${server}'s (more than ${ctx.maxSkewMs / 1000} s)`,
          fix: "turn on time sync: `w32tm /resync` (Windows, service w32time running) or `timedatectl set-ntp true` (Linux)",
        };
      }
      return { name, status: "ok", detail: `${secs} s ${side} ${server}'s (±${((m.rttMs / 2 + 1000) / 1000).toFixed(1)} s)` };
    } catch (e) {
      failures.push(`${server}: ${messageOf(e)}`);
    } finally {
      client?.close();
    }
  }
  return {
    name,
    status: "fail",
    detail: `no gateway's clock could be read: ${failures.join("; ") || "no gateway address"}`,
    fix: 'fix "gateway reachable" first',
  };
};
