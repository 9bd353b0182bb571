// The agent on a campus network, for real over sockets: only a proxy lets it out, a captive
// portal answers the gateway's address with a web page, a TLS-inspecting middlebox shows its
// own certificate, the workstation's clock is off, a download is cut halfway.
import { currentOs } from "../src/os/current.ts";
import { writeIdentity } from "../src/runtime/agent_state.ts";
import { createLogger } from "../src/runtime/log.ts";
import { Backoff } from "../src/session/backoff.ts";
import { connectionLoop, type ConnectionLoopOptions } from "../src/session/connection_loop.ts";
import { ConnectionStatus } from "../src/session/connection_status.ts";
import { SessionHub } from "../src/session/session_hub.ts";
import { endpointUrl } from "../src/session/server_url.ts";
import { DEFAULT_RETRY, downloadFile } from "../src/transfer/transfer.ts";
import { uploadFile } from "../src/transfer/upload_requests.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { collectLines, spawnCli } from "./helpers/cli.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { FakeStore, SIGNATURE } from "./helpers/fake_store.ts";
import { TestProxy } from "./helpers/http_proxy.ts";
import { makeAssign, sha256 } from "./helpers/agent_harness.ts";
import { until } from "./helpers/wait.ts";

interface Line {
  level: string;
  msg: string;
  [k: string]: unknown;
}

function capture() {
  const lines: Line[] = [];
  const raw: string[] = [];
  const log = createLogger((l) => {
    raw.push(l);
    lines.push(JSON.parse(l));
  });
  return { log, lines, raw };
}

/**
 * The connection loop alone (no attempts), against `urls`, with quick retries and the rest of
 * its options as given; `stop` ends it.
 */
function loopTo(urls: string[], credential: string, extra: Partial<ConnectionLoopOptions>, stop: AbortSignal) {
  const quick = () => new Backoff({ baseMs: 5, capMs: 10 });
  return connectionLoop({
    urls, credential, log: createLogger(() => {}), hub: new SessionHub(),
    hello: (restarted) => ({ type: "hello", protocol: 1, agent_version: "t", os: "linux", hostname: "h", gpus: [], running: [], restarted }),
    running: () => [], onMessage: () => {}, backoff: quick(), personBackoff: quick(),
    ...extra,
  }, stop);
}

async function enrolledStateDir(gw: FakeGateway): Promise<{ dir: string; remove: () => Promise<void> }> {
  const parent = await Deno.makeTempDir({ prefix: "lb-campus-" });
  // Where the agent is root, jobs run as another account, which must pass through to the work folder.
  await Deno.chmod(parent, 0o755);
  const dir = `${parent}/state`;
  await Deno.mkdir(dir);
  await writeIdentity(dir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "campus" }, currentOs());
  return { dir, remove: () => Deno.remove(parent, { recursive: true }) };
}

Deno.test("behind a proxy that wants credentials, the socket, the input and the output all go through it and the password is never logged", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const proxy = new TestProxy();
  proxy.credentials = "lab:s3cret-pw";
  const state = await enrolledStateDir(gw);
  // --no-proxy "": whatever NO_PROXY this machine has, nothing bypasses the proxy.
  const child = spawnCli(["run", "--state-dir", state.dir, "--proxy", proxy.url("lab:s3cret-pw"), "--no-proxy", ""]);
  const out = collectLines(child.stdout);
  const err = collectLines(child.stderr);
  try {
    await gw.waitFor("hello", () => true, 30_000);
    const input = new TextEncoder().encode("weights");
    const assign = makeAssign(["sh", "-c", 'cat "$LB_INPUT_DIR/w.bin" > "$LB_OUTPUT_DIR/copy.bin"']);
    assign.inputs = [{ key: "inputs/upl_x/w.bin", path: "w.bin", url: store.getUrl("w.bin", input), size: input.length, sha256: sha256(input) }];
    gw.presign = store.presignFor(assign.job_id);
    gw.send(assign);
    const finished = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id, 30_000);
    assertEquals(finished.outcome, "succeeded", JSON.stringify(finished));
    const gwPort = new URL(gw.url).port;
    const storePort = new URL(store.base).port;
    const lines = proxy.requests.map((r) => r.line);
    assert(lines.some((l) => l === `GET http://127.0.0.1:${gwPort}/v1/agent`), `the WebSocket went through the proxy: ${lines}`);
    assert(lines.some((l) => l.startsWith(`GET http://127.0.0.1:${storePort}/get/w.bin`)), `the input went through the proxy: ${lines}`);
    assert(lines.some((l) => l.startsWith(`PUT http://127.0.0.1:${storePort}/put/`) && l.includes("copy.bin")), `the output went through the proxy: ${lines}`);
    const granted = proxy.requests.filter((r) => r.authorization === `Basic ${btoa("lab:s3cret-pw")}`);
    assertEquals(granted.length, proxy.requests.length, "every connection carried the proxy's credentials");
    assert([...store.puts.keys()].some((k) => k.endsWith("outputs/copy.bin")), "the store got the output");
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
    await out.done;
    await err.done;
    const all = out.lines.join("\n") + err.lines.join("\n");
    assert(!all.includes("s3cret-pw"), "the proxy password is not in the agent's log");
    assert(out.lines.some((l) => l.includes("gateway reached through a proxy") && l.includes(`127.0.0.1:${proxy.port}`)), "the log says which proxy");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    await proxy.close();
    await gw.close();
    await store.close();
    await state.remove();
  }
});

Deno.test("a proxy that asks for credentials the agent lacks is one plain warning, not a stack trace per retry", async () => {
  const gw = new FakeGateway();
  const proxy = new TestProxy();
  proxy.credentials = "lab:pw";
  const { log, lines } = capture();
  const stop = new AbortController();
  const status = new ConnectionStatus();
  Deno.env.set("HTTP_PROXY", proxy.url());
  Deno.env.set("NO_PROXY", "");
  try {
    const done = loopTo([endpointUrl(gw.url, "agent")], gw.credential, { log, status }, stop.signal);
    await until(() => status.current.failures >= 3, "three refused tries");
    stop.abort();
    await done;
    assertEquals(status.current.reading.state, "proxy_auth_required");
    const warnings = lines.filter((l) => l.level === "warn" && l.msg === "cannot reach gateway");
    assertEquals(warnings.length, 1, JSON.stringify(warnings));
    assert(String(warnings[0]!.fix).includes("user:password@ before the host"), String(warnings[0]!.fix));
    assert(lines.filter((l) => l.level === "debug" && l.msg === "cannot reach gateway").length >= 2, JSON.stringify(lines.map((l) => [l.level, l.msg])));
  } finally {
    Deno.env.delete("HTTP_PROXY");
    Deno.env.delete("NO_PROXY");
    await proxy.close();
    await gw.close();
  }
});

/** A captive portal: every request, whatever its address, gets the network's sign-in page. */
class CaptivePortal {
  private readonly server: Deno.HttpServer<Deno.NetAddr>;
  constructor() {
    this.server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
      new Response("<html><body><h1>CampusNet</h1>Sign in to continue</body></html>", { headers: { "content-type": "text/html; charset=utf-8" } }));
  }
  get url(): string {
    return `ws://127.0.0.1:${this.server.addr.port}`;
  }
  close(): Promise<void> {
    return this.server.shutdown();
  }
}

Deno.test("a captive portal's page is recognized and shown as a plain status with its fix, retried slowly, and cleared once past it", async () => {
  const gw = new FakeGateway();
  const portal = new CaptivePortal();
  const { log, lines, raw } = capture();
  const stop = new AbortController();
  const status = new ConnectionStatus();
  const person = new Backoff({ baseMs: 40, capMs: 40, random: () => 0.99 });
  const fast = new Backoff({ baseMs: 1, capMs: 1 });
  try {
    // The portal first, then the real gateway: the agent moves on down its list as it does between gateways.
    const urls = [endpointUrl(portal.url, "agent"), endpointUrl(gw.url, "agent")];
    const done = loopTo(urls, gw.credential, { log, status, backoff: fast, personBackoff: person, random: () => 0 }, stop.signal);
    await until(() => status.current.reading.state === "captive_portal", "the portal recognized");
    const snap = status.current;
    assert(snap.reading.message.includes("captive portal"), snap.reading.message);
    assert(snap.reading.fix!.includes("sign in to the network in a browser"), String(snap.reading.fix));
    const warning = lines.find((l) => l.level === "warn" && l.msg === "cannot reach gateway" && String(l.reason).includes("captive portal"));
    assert(warning && warning.retry_in_ms !== undefined && Number(warning.retry_in_ms) >= 39, `slow retry: ${JSON.stringify(warning)}`);
    assert(!raw.some((l) => l.includes("    at ")), "no stack trace in the log");
    await until(() => status.current.reading.state === "connected", "connected to the gateway after the portal", 10_000);
    assert(lines.some((l) => l.msg === "network is clear again" && l.was === "captive_portal"));
    stop.abort();
    await done;
  } finally {
    await portal.close();
    await gw.close();
  }
});

Deno.test("a gateway seen through a TLS-inspecting middlebox is reported as an untrusted certificate with what to do", async () => {
  const cert = await Deno.readTextFile(new URL("./fixtures/tls/cert.pem", import.meta.url));
  const key = await Deno.readTextFile(new URL("./fixtures/tls/key.pem", import.meta.url));
  const mitm = Deno.serve({ hostname: "127.0.0.1", port: 0, cert, key, onListen() {} }, () => new Response("intercepted"));
  const { log } = capture();
  const stop = new AbortController();
  const status = new ConnectionStatus();
  try {
    const url = `wss://localhost:${mitm.addr.port}/v1/agent`;
    const done = loopTo([url], "lbc_x", { log, status }, stop.signal);
    await until(() => status.current.failures >= 1, "one refused try");
    stop.abort();
    await done;
    assertEquals(status.current.reading.state, "tls_untrusted");
    assert(status.current.reading.fix!.includes("TLS inspection"), String(status.current.reading.fix));
  } finally {
    await mitm.shutdown();
  }
});

Deno.test("a workstation clock five minutes ahead is measured at connect and warned about", async () => {
  const gw = new FakeGateway();
  gw.clockOffsetMs = -5 * 60_000; // the gateway is behind: the agent is ahead
  const { log, lines } = capture();
  const stop = new AbortController();
  const status = new ConnectionStatus();
  const hellos: number[] = [];
  try {
    const done = loopTo([endpointUrl(gw.url, "agent")], gw.credential, { log, status }, stop.signal);
    const hello = await gw.waitFor("hello");
    hellos.push(hello.clock_ms!);
    await until(() => status.current.reading.state === "connected", "connected");
    const skew = status.current.clockSkewMs!;
    assert(Math.abs(skew - 5 * 60_000) < 2_000, `skew ${skew} is about +5 min`);
    assert(Math.abs(hellos[0]! - Date.now()) < 10_000, "hello carries the agent's clock for the gateway");
    assert(lines.some((l) => l.level === "warn" && l.msg.includes("5 min ahead of the gateway")), "the skew is warned about");
    stop.abort();
    await done;
  } finally {
    await gw.close();
  }
});

Deno.test("a download cut halfway resumes with Range from the bytes it already has, and the whole file is checked", async () => {
  const body = new Uint8Array(256 * 1024).map((_, i) => (i * 7) % 251);
  const ranges: (string | null)[] = [];
  let cut = true;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const range = req.headers.get("range");
    ranges.push(range);
    if (cut) {
      cut = false;
      // Half the file, then the connection drops.
      const half = body.subarray(0, body.length / 2);
      const stream = new ReadableStream<Uint8Array>({
        start(ctl) {
          ctl.enqueue(half);
          setTimeout(() => ctl.error(new Error("link dropped")), 20);
        },
      });
      return new Response(stream, { headers: { "content-length": String(body.length) } });
    }
    const from = Number(/bytes=(\d+)-/.exec(range ?? "")?.[1] ?? 0);
    return new Response(body.subarray(from), {
      status: from ? 206 : 200,
      headers: from ? { "content-range": `bytes ${from}-${body.length - 1}/${body.length}` } : {},
    });
  });
  const dir = await Deno.makeTempDir({ prefix: "lb-resume-" });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/get/big.bin?${SIGNATURE}`;
    const policy = { ...DEFAULT_RETRY, tries: 3, baseDelayMs: 5 };
    const { withRetries } = await import("../src/transfer/transfer.ts");
    const got = await withRetries(policy, new AbortController().signal, () =>
      downloadFile(url, `${dir}/big.bin`, { size: body.length, sha256: sha256(body) }, policy, new AbortController().signal));
    assertEquals(got.sha256, sha256(body));
    assertEquals(ranges[0], null);
    assert(ranges[1] !== null && /^bytes=\d+-$/.test(ranges[1]!) && Number(/\d+/.exec(ranges[1]!)![0]) > 0, `second try asked for the rest: ${ranges}`);
    assertEquals(sha256(await Deno.readFile(`${dir}/big.bin`)), sha256(body));
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an upload to an https store through a proxy goes over a CONNECT tunnel; a proxy refusing credentials says so", async () => {
  const proxy = new TestProxy();
  proxy.credentials = "a:b";
  const store = new FakeStore();
  const dir = await Deno.makeTempDir({ prefix: "lb-upload-proxy-" });
  try {
    await Deno.writeTextFile(`${dir}/f.txt`, "hello");
    const url = `${store.base}/put/jobs/j/a/outputs/f.txt?${SIGNATURE}&Expires=1`;
    const headers = { "Content-Type": "application/octet-stream", "x-oss-meta-attempt": "a" };
    const via = (userinfo: string) => ({ ...DEFAULT_RETRY, proxyEnv: { httpProxy: proxy.url(userinfo), httpsProxy: proxy.url(userinfo), noProxy: null } });
    const digest = await uploadFile(url, headers, `${dir}/f.txt`, 5, via("a:b"), new AbortController().signal);
    assertEquals(digest, sha256("hello"));
    assert(proxy.requests.some((r) => r.line.startsWith(`PUT http://127.0.0.1:${new URL(store.base).port}/put/`)), JSON.stringify(proxy.requests));
    // The CONNECT road (an https store): refused credentials come back as a plain error.
    let message = "";
    try {
      await uploadFile(`https://localhost:9/put/x?${SIGNATURE}`, headers, `${dir}/f.txt`, 5, via("a:wrong"), new AbortController().signal);
    } catch (e) {
      message = (e as Error).message;
    }
    assert(message.includes("asks for credentials (407)"), message);
    assert(proxy.requests.some((r) => r.line === "CONNECT localhost:9"), JSON.stringify(proxy.requests));
  } finally {
    await proxy.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
