// The heartbeat flood, measured: a real gateway process (its own prefix and database), one
// agent that sends 5,000 heartbeats naming 50 attempt ids that are not its own as fast as
// it can, and a well-behaved agent heartbeating at the announced interval meanwhile.
// Prints, as JSON: frames and bytes the gateway sent the flooder, the gateway's log lines
// and bytes during the flood, its RSS before and after, and the other agent's heartbeat
// round trip (p50/p99/max) during the flood.
//
//   npx tsx loadtest/gateway_flood.ts [--heartbeats 5000] [--ids 50] [--reconnect [--seconds 8]]
//
// --reconnect: the flooder floods for --seconds instead, reconnecting at once whenever it
// is closed (what a hostile holder of a credential would do against rate limits).
// It needs only the protocol, the store and the test harness, so the same file runs on an
// older checkout to get "before" figures.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { ID_PREFIX, newId, PROTOCOL_VERSION } from "@labbridge/protocol";
import { createEnrollmentToken, createPool } from "@labbridge/store";
import { createTestEnv } from "@labbridge/devstack";

const { values: args } = parseArgs({
  options: {
    reconnect: { type: "boolean", default: false },
    heartbeats: { type: "string", default: "5000" },
    ids: { type: "string", default: "50" },
    seconds: { type: "string", default: "8" },
    // Internal: run as the well-behaved agent's process (its own event loop, so the
    // flooder's sends cannot delay its timing), sampling until stdin closes.
    good: { type: "string" },
    credential: { type: "string" },
  },
});
const HEARTBEATS = Number(args.heartbeats);
const FOREIGN_IDS = Number(args.ids);
// Short enough to sample the round trip often, within the well-behaved agent's own limit.
const HEARTBEAT_SECONDS = 0.1;
/** Round trips sampled before the flood, for comparison. */
const BASELINE_MS = 2000;
/** The "during" window: from the flood's start, at least this long (longer if the flood is). */
const WINDOW_MS = 3000;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

type Frame = { type: string } & Record<string, unknown>;

/** A raw client socket that counts what it receives. */
class Client {
  frames = 0;
  bytes = 0;
  aborts = 0;
  readonly closed: Promise<number>;
  private waiters: ((m: Frame) => boolean)[] = [];

  constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.on("close", (code) => resolve(code)));
    ws.on("message", (data: Buffer) => {
      this.frames++;
      this.bytes += data.length;
      const m = JSON.parse(data.toString()) as Frame;
      if (m.type === "attempt.abort") this.aborts++;
      this.waiters = this.waiters.filter((w) => !w(m));
    });
    ws.on("error", () => undefined);
  }

  static async open(url: string, token: string): Promise<Client> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    const c = new Client(ws); // listening before open: a refusal's frames come right behind the upgrade
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("close", reject);
    });
    return c;
  }

  next(type: string): Promise<Frame> {
    return new Promise((resolve) => this.waiters.push((m) => (m.type === type ? (resolve(m), true) : false)));
  }

  send(m: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(m));
  }
}

const hello = (hostname: string) => ({ type: "hello", protocol: PROTOCOL_VERSION, agent_version: "flood", os: "linux", hostname, gpus: [], running: [], restarted: false });

async function enroll(url: string, pool: ReturnType<typeof createPool>, name: string): Promise<string> {
  const { token } = await createEnrollmentToken(pool, { createdBy: "admin", ttlSeconds: 600, labels: {}, now: new Date() });
  const c = await Client.open(`${url}/v1/enroll`, token);
  const enrolled = c.next("enrolled");
  c.send({ type: "enroll", name, hostname: name, os: "linux", labels: {} });
  return String((await enrolled).credential);
}

/** What the gateway sent to connections refused before welcome (4409, 4429). */
const refusedTraffic = { frames: 0, bytes: 0 };

async function session(url: string, credential: string, name: string): Promise<Client | null> {
  const c = await Client.open(`${url}/v1/agent`, credential).catch(() => null);
  if (!c) return null;
  const welcome = c.next("welcome");
  c.send(hello(name));
  const welcomed = await Promise.race([welcome.then(() => true), c.closed.then(() => false)]);
  if (welcomed) return c;
  refusedTraffic.frames += c.frames;
  refusedTraffic.bytes += c.bytes;
  return null;
}

/** The well-behaved agent: one heartbeat per interval, each timed to its ack and printed as a JSON line, until stdin closes. */
async function runGoodAgent(url: string, credential: string): Promise<void> {
  const good = await session(url, credential, "good");
  if (!good) throw new Error("the well-behaved agent was not welcomed");
  let running = true;
  process.stdin.on("end", () => (running = false)).resume();
  while (running) {
    const at = Date.now();
    const t0 = performance.now();
    const ack = good.next("heartbeat.ack").then(() => true);
    good.send({ type: "heartbeat", running: [] });
    const acked = await Promise.race([ack, good.closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
    process.stdout.write(JSON.stringify({ at, ms: performance.now() - t0, acked }) + "\n");
    if (!acked) break;
    await new Promise((r) => setTimeout(r, HEARTBEAT_SECONDS * 1000));
  }
  good.ws.close();
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

if (args.good) {
  await runGoodAgent(args.good, args.credential!);
  process.exit(0);
}

const env = await createTestEnv({ LB_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS), LB_LEASE_TTL_SECONDS: "3", LB_LOG_LEVEL: "info" }, "lbflood");
const gateway = spawn(process.execPath, ["--import", "tsx", "services/gateway/src/main.ts"], {
  env: { ...process.env, ...env.env },
  stdio: ["ignore", "pipe", "pipe"],
});
const logs = { lines: 0, bytes: 0 };
let onListening: (port: number) => void = () => undefined;
const listening = new Promise<number>((resolve) => (onListening = resolve));
for (const stream of [gateway.stdout!, gateway.stderr!]) {
  createInterface({ input: stream }).on("line", (line) => {
    logs.lines++;
    logs.bytes += Buffer.byteLength(line) + 1;
    if (line.includes('"gateway listening"')) onListening((JSON.parse(line) as { port: number }).port);
  });
}

const pool = createPool(env.config.mysqlUrl);
try {
  const port = await listening;
  const url = `ws://127.0.0.1:${port}`;
  const goodCredential = await enroll(url, pool, "good");
  const floodCredential = await enroll(url, pool, "flooder");

  const foreign = Array.from({ length: FOREIGN_IDS }, () => newId(ID_PREFIX.attempt));
  const beat = JSON.stringify({ type: "heartbeat", running: foreign });

  // The well-behaved agent, in its own process: a baseline window, then the flood.
  const goodAgent = spawn(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname, "--good", url, "--credential", goodCredential], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const samples: { at: number; ms: number; acked: boolean }[] = [];
  let firstSample: () => void = () => undefined;
  const sampling = new Promise<void>((r) => (firstSample = r));
  createInterface({ input: goodAgent.stdout! }).on("line", (line) => {
    samples.push(JSON.parse(line) as (typeof samples)[number]);
    firstSample();
  });
  await sampling;
  await new Promise((r) => setTimeout(r, BASELINE_MS));
  // Connected just before the flood, so its session is fresh when the flood starts.
  let flooder = (await session(url, floodCredential, "flooder"))!;
  flooder.frames = flooder.bytes = flooder.aborts = 0; // its welcome is not flood traffic
  const rssBefore = rssBytes(gateway.pid!);
  const logsBefore = { ...logs };
  const floodStart = Date.now();
  const started = performance.now();
  const deadline = started + Number(args.seconds) * 1000;
  const received = { frames: 0, bytes: 0, aborts: 0 };
  const closeCodes: number[] = [];
  let sent = 0;
  let sessions = 1;
  let refusedConnects = 0;
  for (;;) {
    // As fast as the socket takes them: only a little is held in the client's own buffer,
    // so `sent` counts frames that went out, not frames queued behind a closed socket.
    while ((args.reconnect ? performance.now() < deadline : sent < HEARTBEATS) && flooder.ws.readyState === WebSocket.OPEN) {
      // Yield now and then too, or a socket that keeps taking writes would keep this loop
      // from ever reading the gateway's answers (or its close).
      if (flooder.ws.bufferedAmount > 256 * 1024) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      flooder.ws.send(beat);
      if (++sent % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    // Until the gateway closes the flooder, or has sent nothing more for a second.
    let last = -1;
    while (flooder.ws.readyState !== WebSocket.CLOSED && flooder.frames !== last) {
      last = flooder.frames;
      await Promise.race([flooder.closed, new Promise((r) => setTimeout(r, 1000))]);
    }
    Object.assign(received, { frames: received.frames + flooder.frames, bytes: received.bytes + flooder.bytes, aborts: received.aborts + flooder.aborts });
    if (flooder.ws.readyState !== WebSocket.OPEN) closeCodes.push(await flooder.closed);
    if (!args.reconnect || performance.now() >= deadline || flooder.ws.readyState === WebSocket.OPEN) break;
    // Connections refused before welcome (4409, 4429) are counted, and tried again at once.
    let again: Client | null = null;
    while (!again && performance.now() < deadline) {
      again = await session(url, floodCredential, "flooder");
      if (!again) refusedConnects++;
    }
    if (!again) break;
    flooder = again;
    sessions++;
  }
  const floodMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, Math.max(0, WINDOW_MS - floodMs)));
  const windowEnd = Date.now();
  goodAgent.stdin!.end();
  await new Promise((r) => goodAgent.once("exit", r));
  const summary = (from: number, to: number) => {
    const inWindow = samples.filter((x) => x.at >= from && x.at < to);
    const sorted = inWindow.map((x) => x.ms).sort((a, b) => a - b);
    return {
      heartbeats: inWindow.length, unanswered: inWindow.filter((x) => !x.acked).length,
      p50: +percentile(sorted, 50).toFixed(1), p99: +percentile(sorted, 99).toFixed(1), max: +(sorted.at(-1) ?? NaN).toFixed(1),
    };
  };
  const rssAfter = rssBytes(gateway.pid!);
  const result = {
    heartbeats_sent_by_flooder: sent,
    foreign_ids_per_heartbeat: FOREIGN_IDS,
    flooder_sessions: sessions,
    flooder_connects_refused: refusedConnects,
    flooder_close_codes: [...new Set(closeCodes)],
    flood_ms: Math.round(floodMs),
    frames_back: received.frames + refusedTraffic.frames,
    abort_frames_back: received.aborts,
    bytes_back: received.bytes + refusedTraffic.bytes,
    log_lines: logs.lines - logsBefore.lines,
    log_bytes: logs.bytes - logsBefore.bytes,
    rss_before_mb: +(rssBefore / 2 ** 20).toFixed(1),
    rss_after_mb: +(rssAfter / 2 ** 20).toFixed(1),
    good_rtt_ms_before_flood: summary(floodStart - BASELINE_MS, floodStart),
    good_rtt_ms_during_flood: summary(floodStart, windowEnd),
    good_still_connected: samples.at(-1)?.acked ?? false,
  };
  console.log(JSON.stringify(result, null, 2));
  flooder.ws.close();
} finally {
  gateway.kill("SIGTERM");
  await new Promise((r) => gateway.once("exit", r));
  await pool.end();
  await env.cleanup();
}
