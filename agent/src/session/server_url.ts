// The gateway address given at enrollment, turned into the two endpoint URLs. The
// credential travels only in the Authorization header, so the URL must carry no query
// or userinfo that a proxy log could keep.

/** Why `server` is not a usable gateway address, or null. */
export function serverUrlProblem(server: string): string | null {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return "is not a URL";
  }
  if (!["ws:", "wss:", "http:", "https:"].includes(url.protocol)) return "must start with ws://, wss://, http:// or https://";
  if (url.username || url.password) return "must not contain a user name or password";
  if (url.search || url.hash) return "must not contain a query string or fragment";
  return null;
}

/** `<server>/v1/<endpoint>` as a ws(s) URL; http(s) is accepted and mapped to ws(s). */
export function endpointUrl(server: string, endpoint: "enroll" | "agent"): string {
  const url = new URL(server);
  if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "https:") url.protocol = "wss:";
  url.pathname = url.pathname.replace(/\/+$/, "") + `/v1/${endpoint}`;
  return url.toString();
}

/** True when frames would cross a network in clear text (ws:// to a non-loopback host). */
export function isCleartextRemote(server: string): boolean {
  const url = new URL(server);
  if (url.protocol !== "ws:" && url.protocol !== "http:") return false;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return !(host === "localhost" || host === "::1" || host.startsWith("127."));
}
