// Which HTTP proxy a connection goes through. Deno's own WebSocket and fetch already honour
// HTTPS_PROXY / HTTP_PROXY / NO_PROXY (CONNECT for wss and https, Basic credentials from the
// URL); the uploads go through node:http, which does not, so they ask `proxyFor` and tunnel
// themselves (transfer/proxy_tunnel.ts). One reading of the variables serves both, so the
// socket and the files never take different roads.
//
// A service does not run with the admin's shell environment, so `enroll --proxy` keeps the
// setting in agent.json and `applyProxySetting` puts it into this process's environment at
// start, before the first connection.

/** The proxy variables as read from an environment (upper case first, as curl does for HTTPS_PROXY). */
export interface ProxyEnv {
  httpsProxy: string | null;
  httpProxy: string | null;
  noProxy: string | null;
}

/** Reads the proxy variables; either spelling (HTTPS_PROXY, https_proxy) counts. */
export function readProxyEnv(get: (name: string) => string | undefined): ProxyEnv {
  const pick = (name: string) => {
    const v = get(name.toUpperCase()) ?? get(name.toLowerCase());
    return v && v.trim() !== "" ? v.trim() : null;
  };
  return { httpsProxy: pick("https_proxy"), httpProxy: pick("http_proxy"), noProxy: pick("no_proxy") };
}

/** The proxy settings agent.json may hold; absent: the environment decides. */
export interface ProxySetting {
  /** `http://[user:pass@]host:port`, or "none" for a direct connection whatever the environment says. */
  proxy?: string;
  /** NO_PROXY list: host, .domain, IP, `*`, each optionally with :port. */
  no_proxy?: string;
}

/** Why a --proxy value cannot be used, or null. */
export function proxyUrlProblem(text: string): string | null {
  if (text === "none") return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "is not a URL (expected http://host:port)";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return `has scheme "${url.protocol}" (expected http://host:port)`;
  if (url.pathname !== "/" && url.pathname !== "") return "must not have a path";
  return null;
}

/**
 * Puts the agent.json setting into `env` for Deno's WebSocket and fetch. An explicit setting
 * wins over the environment; "none" clears the variables so nothing is proxied.
 */
export function applyProxySetting(setting: ProxySetting, env: { set(k: string, v: string): void; delete(k: string): void }): void {
  if (setting.proxy !== undefined) {
    for (const name of ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"]) env.delete(name);
    if (setting.proxy !== "none") {
      env.set("HTTPS_PROXY", setting.proxy);
      env.set("HTTP_PROXY", setting.proxy);
    }
  }
  if (setting.no_proxy !== undefined) {
    env.delete("no_proxy");
    env.set("NO_PROXY", setting.no_proxy);
  }
}

const defaultPort = (protocol: string) => (protocol === "https:" || protocol === "wss:" ? 443 : 80);

/** True when `noProxy` says `target` goes direct. */
export function bypassesProxy(target: URL, noProxy: string | null): boolean {
  if (!noProxy) return false;
  const host = target.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = Number(target.port || defaultPort(target.protocol));
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    // host, host:port, [v6]:port
    const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(entry);
    if (!m) continue;
    const [, name, p] = m;
    if (p && Number(p) !== port) continue;
    const bare = name!.replace(/^\*?\./, "");
    if (host === bare || host.endsWith(`.${bare}`)) return true;
  }
  return false;
}

/** The proxy `target` goes through, or null for a direct connection. */
export function proxyFor(target: URL, env: ProxyEnv): URL | null {
  if (bypassesProxy(target, env.noProxy)) return null;
  const secure = target.protocol === "https:" || target.protocol === "wss:";
  const raw = secure ? env.httpsProxy : env.httpProxy;
  if (!raw) return null;
  try {
    // A bare host:port, as some admins write it, means http://host:port.
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    return null;
  }
}

/** The proxy as it may be shown or logged: credentials never. */
export function describeProxy(proxy: URL | string | null): string {
  if (proxy === null) return "none";
  try {
    const url = new URL(String(proxy));
    return `${url.protocol}//${url.username ? "***@" : ""}${url.host}`;
  } catch {
    return "(unparsable proxy URL)";
  }
}

/** `Proxy-Authorization` for a proxy URL that carries user:pass, else null. */
export function proxyAuthorization(proxy: URL): string | null {
  if (!proxy.username) return null;
  const creds = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(creds)))}`;
}
