// "proxy in use": which proxy each gateway connection would take, read exactly as the agent
// reads it (session/proxy.ts: agent.json's --proxy over HTTPS_PROXY / HTTP_PROXY / NO_PROXY,
// the same for the socket and the transfers), and whether that proxy answers. A service does
// not see the proxy a browser uses (Windows' WinINET settings), so a proxy only works for the
// service when set with --proxy or in the service's own environment.
import { describeProxy, proxyFor, readProxyEnv } from "../session/proxy.ts";
import { endpointUrl } from "../session/server_url.ts";
import { type Check, messageOf, withDeadline } from "./check.ts";

export const proxyInUse: Check = async (ctx) => {
  const name = "proxy in use";
  const env = readProxyEnv((n) => ctx.env[n]);
  const roads = ctx.servers.map((server) => ({ host: new URL(endpointUrl(server, "agent")).hostname, proxy: proxyFor(new URL(endpointUrl(server, "agent")), env) }));
  const exempt = roads.filter((r) => r.proxy === null && (env.httpsProxy || env.httpProxy)).map((r) => r.host);
  const bypass = exempt.length > 0 ? `; NO_PROXY exempts ${exempt.join(", ")}` : "";
  const proxies = [...new Map(roads.flatMap((r) => (r.proxy ? [[r.proxy.host, r.proxy] as const] : []))).values()];
  if (proxies.length === 0) return { name, status: "ok", detail: `none: the agent connects directly (a browser's proxy settings do not apply to a service)${bypass}` };
  for (const proxy of proxies) {
    try {
      const conn = await withDeadline(
        Deno.connect({ hostname: proxy.hostname, port: Number(proxy.port || 80) }),
        ctx.timeoutMs,
        `connecting to the proxy ${proxy.host}`,
        (c) => c.close(),
      );
      conn.close();
    } catch (e) {
      return {
        name,
        status: "fail",
        detail: `${describeProxy(proxy)}: ${messageOf(e)}`,
        fix: "check the proxy address with the campus IT, then set it with `enroll --proxy` / `run --proxy` (or HTTPS_PROXY for the service); --proxy none goes direct",
      };
    }
  }
  return { name, status: "ok", detail: `${proxies.map(describeProxy).join(", ")} answers${bypass}` };
};
