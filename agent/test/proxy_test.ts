import { parseCliArgs, UsageError } from "../src/cli/cli_args.ts";
import { classifyConnectFailure, ConnectionStatus, worthProbing } from "../src/session/connection_status.ts";
import { clockSkewMs, skewWarning } from "../src/session/clock_skew.ts";
import { applyProxySetting, bypassesProxy, describeProxy, proxyAuthorization, proxyFor, proxyUrlProblem, readProxyEnv } from "../src/session/proxy.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";

const env = (o: Record<string, string>) => readProxyEnv((n) => o[n]);

Deno.test("either spelling of the proxy variables counts, upper case first", () => {
  assertEquals(env({ https_proxy: "http://p:1", HTTP_PROXY: "http://q:2", no_proxy: "x" }), { httpsProxy: "http://p:1", httpProxy: "http://q:2", noProxy: "x" });
  assertEquals(env({ HTTPS_PROXY: "http://a:1", https_proxy: "http://b:1" }).httpsProxy, "http://a:1");
  assertEquals(env({ HTTPS_PROXY: "  " }).httpsProxy, null);
});

Deno.test("wss and https take HTTPS_PROXY, ws and http take HTTP_PROXY; a bare host:port means http://", () => {
  const e = env({ HTTPS_PROXY: "proxy.campus:3128", HTTP_PROXY: "http://plain:8080" });
  assertEquals(proxyFor(new URL("wss://gw.example.com/v1/agent"), e)?.href, "http://proxy.campus:3128/");
  assertEquals(proxyFor(new URL("https://oss.example.com/k"), e)?.host, "proxy.campus:3128");
  assertEquals(proxyFor(new URL("ws://gw:8080/v1/agent"), e)?.host, "plain:8080");
  assertEquals(proxyFor(new URL("wss://gw/"), env({})), null);
});

Deno.test("NO_PROXY: exact hosts, domain suffixes, a leading dot or *., ports, IPs and *", () => {
  const t = (u: string, list: string) => bypassesProxy(new URL(u), list);
  assert(t("wss://gw.lab.edu/", "lab.edu"));
  assert(t("wss://gw.lab.edu/", ".lab.edu"));
  assert(t("wss://gw.lab.edu/", "*.lab.edu"));
  assert(!t("wss://evil-lab.edu/", "lab.edu"), "a suffix matches at a dot only");
  assert(t("https://10.0.0.5/x", "localhost, 10.0.0.5"));
  assert(t("https://oss:443/x", "oss:443"));
  assert(!t("https://oss:8443/x", "oss:443"));
  assert(t("wss://anything/", "*"));
  assert(!t("wss://gw/", ""));
});

Deno.test("a proxy is shown without its credentials and sends them as Basic", () => {
  assertEquals(describeProxy("http://lab:s3cret@proxy:3128"), "http://***@proxy:3128");
  assertEquals(describeProxy(null), "none");
  assertEquals(proxyAuthorization(new URL("http://lab:p%40ss@proxy:3128")), `Basic ${btoa("lab:p@ss")}`);
  assertEquals(proxyAuthorization(new URL("http://proxy:3128")), null);
});

Deno.test("agent.json's proxy wins over the environment; none clears it", () => {
  const vars = new Map([["https_proxy", "http://old:1"], ["NO_PROXY", "x"]]);
  const target = { set: (k: string, v: string) => void vars.set(k, v), delete: (k: string) => void vars.delete(k) };
  applyProxySetting({ proxy: "http://new:2", no_proxy: "lab.edu" }, target);
  assertEquals(Object.fromEntries(vars), { HTTPS_PROXY: "http://new:2", HTTP_PROXY: "http://new:2", NO_PROXY: "lab.edu" });
  applyProxySetting({ proxy: "none" }, target);
  assertEquals(Object.fromEntries(vars), { NO_PROXY: "lab.edu" });
});

Deno.test("--proxy is checked when parsed; --no-proxy may be empty", () => {
  const ok = parseCliArgs(["run", "--state-dir", "/s", "--proxy", "http://u:p@proxy:3128", "--no-proxy", ""]);
  assert(ok.command === "run");
  assertEquals(ok.proxy, { proxy: "http://u:p@proxy:3128", noProxy: "" });
  assertEquals(proxyUrlProblem("none"), null);
  assertThrows(() => parseCliArgs(["run", "--state-dir", "/s", "--proxy", "socks5://p:1"]), UsageError, "expected http://host:port");
  assertThrows(() => parseCliArgs(["run", "--state-dir", "/s", "--proxy", "http://p:1/path"]), UsageError, "must not have a path");
});

Deno.test("connect failures read as the campus network states an admin can act on", () => {
  const c = (e: string, probe: Parameters<typeof classifyConnectFailure>[2] = null) => classifyConnectFailure(e, "gw.lab.edu", probe).state;
  assertEquals(c("NetworkError: failed to connect to WebSocket: proxy authentication required"), "proxy_auth_required");
  assertEquals(c("NetworkError: failed to connect to WebSocket: Invalid status code: 407"), "proxy_auth_required");
  assertEquals(c("NetworkError: failed to connect to WebSocket: invalid peer certificate: UnknownIssuer"), "tls_untrusted");
  assertEquals(c("NetworkError: failed to connect to WebSocket: Invalid status code: 200", { status: 200, contentType: "text/html", location: null }), "captive_portal");
  assertEquals(c("NetworkError: failed to connect to WebSocket: Invalid status code: 302", { status: 302, contentType: null, location: "http://portal/login?session=abc" }), "captive_portal");
  assertEquals(c("NetworkError: failed to connect to WebSocket: Invalid status code: 403", { status: 403, contentType: "text/html", location: null }), "captive_portal");
  assertEquals(c("NetworkError: failed to connect to WebSocket: Invalid status code: 503"), "gateway_error");
  assertEquals(c("NetworkError: failed to connect to WebSocket: dns error"), "dns_failed");
  assertEquals(c("NetworkError: failed to connect to WebSocket: tcp connect error"), "unreachable");
  const portal = classifyConnectFailure("Invalid status code: 302", "gw", { status: 302, contentType: null, location: "http://portal.campus/login?token=SECRET" });
  assert(portal.message.includes("http://portal.campus/login") && !portal.message.includes("SECRET"), portal.message);
  assert(worthProbing("Invalid status code: 200") && worthProbing("Invalid status code: 401") && !worthProbing("Invalid status code: 503"));
});

Deno.test("the connection status warns once per change of state and counts the repeats", () => {
  let now = 1_000;
  const s = new ConnectionStatus(() => now);
  const portal = { state: "captive_portal" as const, message: "m", fix: "f" };
  assert(s.failed("wss://gw/v1/agent", portal));
  now = 2_000;
  assert(!s.failed("wss://gw/v1/agent", portal));
  assertEquals(s.current.failures, 2);
  assertEquals(s.current.since, 1_000);
  assertEquals(s.connected("wss://gw/v1/agent", "ses_1", 42), "captive_portal");
  assertEquals(s.current.clockSkewMs, 42);
  s.disconnected();
  assert(s.failed("wss://gw/v1/agent", portal), "the first failure after a session is news again");
});

Deno.test("clock skew is taken against the middle of the round trip and warned about past a minute", () => {
  assertEquals(clockSkewMs(1_000, 1_200, 800), 300);
  assertEquals(clockSkewMs(1_000, 1_200, undefined), null);
  assertEquals(skewWarning(59_000), null);
  assert(skewWarning(-3 * 60_000)!.includes("3 min behind"));
});
