// "gateway reachable": a TCP connection to each gateway address (what a captive portal, a
// firewall or a wrong host name breaks first).
import { type Check, type CheckResult, hostPort, messageOf, withDeadline } from "./check.ts";

export const gatewayReachable: Check = async (ctx) => {
  if (ctx.servers.length === 0) {
    return {
      name: "gateway reachable",
      status: "fail",
      detail: "no gateway address: the folder is not enrolled",
      fix: "enroll: labbridge-agent enroll --server wss://… --token lbe_…",
    };
  }
  const results: CheckResult[] = [];
  for (const server of ctx.servers) {
    const { hostname, port } = hostPort(server);
    const started = performance.now();
    try {
      const conn = await withDeadline(Deno.connect({ hostname, port }), ctx.timeoutMs, `connecting to ${hostname}:${port}`, (c) => c.close());
      conn.close();
      results.push({
        name: "gateway reachable",
        status: "ok",
        detail: `${server} (${hostname}:${port}) answered in ${Math.round(performance.now() - started)} ms`,
      });
    } catch (e) {
      results.push({
        name: "gateway reachable",
        status: "fail",
        detail: `${server}: ${messageOf(e)}`,
        fix:
          "check the network, the campus captive portal (sign in from a browser) and the firewall's outbound rule for this port; the address is in agent.json",
      });
    }
  }
  return results;
};
