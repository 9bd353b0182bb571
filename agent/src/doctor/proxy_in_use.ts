// "proxy in use": which proxy the agent's connections would take (Deno honours HTTPS_PROXY,
// HTTP_PROXY, ALL_PROXY and NO_PROXY), and whether that proxy answers. A service does not
// see the proxy a browser uses (Windows' WinINET settings), so a proxy only works for the
// service when set in the service's own environment.
import { redactUrl } from "../runtime/log.ts";
import { type Check, hostPort, messageOf, withDeadline } from "./check.ts";

/** The proxy variables in the order Deno consults them, matched without case. */
const PROXY_VARS = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"];

/** The first proxy setting of `env`: variable and value; null without any. */
export function proxySetting(env: Record<string, string>): { name: string; value: string } | null {
  for (const wanted of PROXY_VARS) {
    for (const [name, value] of Object.entries(env)) if (name.toUpperCase() === wanted && value.trim() !== "") return { name, value: value.trim() };
  }
  return null;
}

/** Whether NO_PROXY exempts `host` (exact names, `.suffix`/suffix matches, `*`). */
export function noProxyCovers(env: Record<string, string>, host: string): boolean {
  const list = Object.entries(env).find(([k]) => k.toUpperCase() === "NO_PROXY")?.[1] ?? "";
  return list.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "").some((entry) =>
    entry === "*" || host === entry.replace(/^\./, "") || host.endsWith(entry.startsWith(".") ? entry : `.${entry}`)
  );
}

export const proxyInUse: Check = async (ctx) => {
  const name = "proxy in use";
  const setting = proxySetting(ctx.env);
  if (!setting) return { name, status: "ok", detail: "none: the agent connects directly (a browser's proxy settings do not apply to a service)" };
  let url: URL;
  try {
    url = new URL(setting.value.includes("://") ? setting.value : `http://${setting.value}`);
  } catch {
    return { name, status: "fail", detail: `${setting.name} is not a URL`, fix: `set ${setting.name}=http://proxy-host:port for the service` };
  }
  const shown = redactUrl(url.toString());
  const exempt = ctx.servers.map((s) => hostPort(s).hostname).filter((h) => noProxyCovers(ctx.env, h));
  const { hostname, port } = hostPort(url.protocol === "https:" ? `https://${url.host}` : `http://${url.host}`);
  try {
    const conn = await withDeadline(Deno.connect({ hostname, port }), ctx.timeoutMs, `connecting to the proxy ${hostname}:${port}`, (c) => c.close());
    conn.close();
  } catch (e) {
    return {
      name,
      status: "fail",
      detail: `${setting.name}=${shown}: ${messageOf(e)}`,
      fix: `check the proxy address with the campus IT, or unset ${setting.name} for the service`,
    };
  }
  const bypass = exempt.length > 0 ? `; NO_PROXY exempts ${exempt.join(", ")}` : "";
  return { name, status: "ok", detail: `${setting.name}=${shown} answers${bypass}` };
};
