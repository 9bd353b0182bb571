// Puts the proxy setting (flags, else agent.json, else the environment) into effect for this
// process before it connects anywhere, and says once which road each gateway takes.
import type { Logger } from "../runtime/log.ts";
import { applyProxySetting, describeProxy, type ProxySetting, proxyFor, readProxyEnv } from "../session/proxy.ts";
import { endpointUrl } from "../session/server_url.ts";
import type { ProxyFlags } from "./cli_args.ts";

/** The setting in force: a flag wins over agent.json's value. */
export function effectiveProxy(flags: ProxyFlags, stored: ProxySetting): ProxySetting {
  const setting: ProxySetting = {};
  const proxy = flags.proxy ?? stored.proxy;
  const noProxy = flags.noProxy ?? stored.no_proxy;
  if (proxy !== undefined) setting.proxy = proxy;
  if (noProxy !== undefined) setting.no_proxy = noProxy;
  return setting;
}

/** Applies `setting` to Deno.env (what the WebSocket, fetch and the uploads read) and logs the road taken. */
export function setUpProxy(setting: ProxySetting, servers: string[], log: Logger): void {
  applyProxySetting(setting, Deno.env);
  const env = readProxyEnv((n) => Deno.env.get(n));
  for (const server of servers) {
    const proxy = proxyFor(new URL(endpointUrl(server, "agent")), env);
    if (proxy) log.info("gateway reached through a proxy", { server, proxy: describeProxy(proxy) });
  }
}

/** The proxy `server` would be reached through with `setting` over this environment, for people ("none": direct). */
export function proxyInUse(setting: ProxySetting, server: string): string {
  const env = new Map(Object.entries(Deno.env.toObject()));
  applyProxySetting(setting, { set: (k, v) => env.set(k, v), delete: (k) => env.delete(k) });
  return describeProxy(proxyFor(new URL(endpointUrl(server, "agent")), readProxyEnv((n) => env.get(n))));
}
