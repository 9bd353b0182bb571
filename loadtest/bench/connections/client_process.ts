// One process of the connection bench's fake fleet: holds its share of the agents, each a
// real WebSocket (`ws`) with a provisioned credential, bound to one of 127.0.0.x source
// addresses so the fleet gets past one address's ephemeral ports. Each agent says hello,
// heartbeats at the announced idle interval ±10% (it never holds an attempt; the busy
// interval where welcome announces no idle one: heartbeat_timer.ts) and honours a 1013
// retry hint. The parent (connection_bench.ts) drives it over IPC:
//   {cmd: "connect", urls, count}  connect `count` more agents (each starts at a random URL)
//   {cmd: "drop"}                  cut every socket at once (a TCP reset, no close frame), reconnect after 0–500 ms
//   {cmd: "stats", reset?}         counters and samples since the last reset
//   {cmd: "close"}                 close every socket normally and exit
// Started as: node --import tsx client_process.ts <creds.json> <first> <count> <address count>
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import WebSocket from "ws";
import { CLOSE_CODES, PROTOCOL_VERSION, retryAfterOf } from "@labbridge/protocol";
import { heartbeatIntervalMs, jitteredMs } from "../heartbeat_timer.ts";

interface Cred {
  agent_id: string;
  name: string;
  credential: string;
}

/** What the client reports to the parent. */
export interface ClientStats {
  connected: number;
  welcomed: number;
  /** Date.now() of each agent's first welcome since the last reset (one per agent, however often it reconnected). */
  welcomeTimes: number[];
  /** Heartbeat → heartbeat.ack round trips (ms) since the last reset. */
  rtts: number[];
  framesOut: number;
  framesIn: number;
  bytesOut: number;
  bytesIn: number;
  pingsIn: number;
  retryHints: number;
  connectErrors: number;
  closes: Record<string, number>;
}

const [credsFile, firstArg, countArg, addressesArg] = process.argv.slice(2);
const creds = (JSON.parse(readFileSync(credsFile!, "utf8")) as Cred[]).slice(Number(firstArg), Number(firstArg) + Number(countArg));
const addresses = Number(addressesArg ?? 1);
const HELLO = (name: string) => JSON.stringify({ type: "hello", protocol: PROTOCOL_VERSION, agent_version: "bench-conn", os: "linux", hostname: name, gpus: [], running: [], restarted: false });
const HEARTBEAT = JSON.stringify({ type: "heartbeat", running: [] });
const HEARTBEAT_BYTES = Buffer.byteLength(HEARTBEAT);

let stats: ClientStats = fresh();
function fresh(): ClientStats {
  return { connected: 0, welcomed: 0, welcomeTimes: [], rtts: [], framesOut: 0, framesIn: 0, bytesOut: 0, bytesIn: 0, pingsIn: 0, retryHints: 0, connectErrors: 0, closes: {} };
}

class Agent {
  ws: WebSocket | null = null;
  welcomed = false;
  /** Whether this agent's welcome since the last reset is already in welcomeTimes. */
  timed = false;
  timer: NodeJS.Timeout | null = null;
  sentAt = 0;
  intervalMs = 5000;
  stopped = false;
  url = 0;

  constructor(readonly index: number, readonly cred: Cred, readonly urls: string[]) {
    this.url = Math.floor(Math.random() * urls.length);
  }

  connect(): void {
    if (this.stopped) return;
    const localAddress = `127.0.0.${2 + (this.index % addresses)}`;
    const ws = new WebSocket(`${this.urls[this.url]}/v1/agent`, { headers: { authorization: `Bearer ${this.cred.credential}` }, localAddress, perMessageDeflate: false });
    this.ws = ws;
    this.welcomed = false;
    let opened = false;
    ws.on("open", () => {
      opened = true;
      this.send(HELLO(this.cred.name));
    });
    ws.on("message", (data: Buffer) => this.onFrame(data));
    ws.on("ping", () => stats.pingsIn++);
    ws.on("error", () => undefined);
    ws.on("unexpected-response", () => undefined);
    ws.on("close", (code: number, reason: Buffer) => {
      if (!opened) stats.connectErrors++;
      this.onClose(ws, code, reason.toString());
    });
  }

  send(text: string): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    stats.framesOut++;
    stats.bytesOut += text === HEARTBEAT ? HEARTBEAT_BYTES : Buffer.byteLength(text);
    this.ws.send(text);
  }

  onFrame(data: Buffer): void {
    stats.framesIn++;
    stats.bytesIn += data.length;
    // The heartbeat path is by far the most frequent frame: no JSON parse for it.
    if (data.length === 24 && data.toString() === '{"type":"heartbeat.ack"}') {
      if (this.sentAt) stats.rtts.push(performance.now() - this.sentAt);
      this.sentAt = 0;
      return;
    }
    const m = JSON.parse(data.toString()) as { type: string; heartbeat_seconds?: number; idle_heartbeat_seconds?: number };
    if (m.type === "welcome") {
      this.welcomed = true;
      stats.welcomed++;
      if (!this.timed) stats.welcomeTimes.push(Date.now());
      this.timed = true;
      // The fleet's agents hold no attempt: they beat at the idle interval.
      this.intervalMs = heartbeatIntervalMs({ heartbeat_seconds: m.heartbeat_seconds ?? 5, idle_heartbeat_seconds: m.idle_heartbeat_seconds }, false);
      this.schedule();
    }
  }

  schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.sentAt = performance.now();
      this.send(HEARTBEAT);
      this.schedule();
    }, jitteredMs(this.intervalMs));
  }

  onClose(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws) return;
    stats.closes[code] = (stats.closes[code] ?? 0) + 1;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.ws = null;
    if (this.stopped) return;
    // As the agent does: a hint is honoured; anything else moves to the next gateway after 0–500 ms (full jitter).
    const hint = code === CLOSE_CODES.try_again_later ? retryAfterOf(reason) : null;
    if (hint !== null) stats.retryHints++;
    this.url = (this.url + 1) % this.urls.length;
    setTimeout(() => this.connect(), hint ?? Math.random() * 500);
  }

  /**
   * Cuts the link the way a dead NAT or a restarted box does: a reset, no FIN. With
   * terminate()'s FIN, every one of the fleet's ports sat in TIME_WAIT for 60 s on this one
   * machine, and each reconnect's bind() to one of its few source addresses scanned the
   * crowded port range: at 100,000 agents no reconnect got through for 63 s, at 83 %
   * system CPU in the fleet's own processes. Real agents are as many machines, whose ports
   * cost the gateway nothing; this keeps the storm about the gateway.
   */
  drop(): void {
    const socket = (this.ws as unknown as { _socket?: Socket } | null)?._socket;
    if (socket && !socket.destroyed) socket.resetAndDestroy();
    else this.ws?.terminate();
  }

  close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once("close", () => resolve());
      ws.close(1000);
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 5000).unref();
    });
  }
}

const agents: Agent[] = [];

process.on("message", async (m: { cmd: string; urls?: string[]; count?: number; reset?: boolean }) => {
  switch (m.cmd) {
    case "connect": {
      const start = agents.length;
      const end = Math.min(creds.length, start + (m.count ?? creds.length));
      for (let i = start; i < end; i++) {
        const a = new Agent(i, creds[i]!, m.urls!);
        agents.push(a);
        a.connect();
        // A few hundred connects per tick: the event loop keeps answering heartbeats meanwhile.
        if (i % 200 === 199) await new Promise((r) => setImmediate(r));
      }
      process.send!({ cmd: "connect", started: end - start });
      return;
    }
    case "drop":
      for (const a of agents) a.drop();
      process.send!({ cmd: "drop" });
      return;
    case "stats": {
      stats.connected = agents.filter((a) => a.welcomed && a.ws?.readyState === WebSocket.OPEN).length;
      process.send!({ cmd: "stats", stats });
      if (m.reset) {
        stats = { ...fresh(), connected: stats.connected, welcomed: stats.welcomed };
        for (const a of agents) a.timed = false;
      }
      return;
    }
    case "close":
      await Promise.all(agents.splice(0).map((a) => a.close()));
      process.send!({ cmd: "close" });
      return;
  }
});
process.send!({ cmd: "ready", agents: creds.length });
