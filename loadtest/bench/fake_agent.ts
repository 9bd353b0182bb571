// A fake agent that speaks the real protocol over a real WebSocket: it enrolls with a
// token from the admin API, says hello, heartbeats at the intervals the gateway announces
// (the busy one while it holds an attempt, the idle one while it holds none, with jitter:
// heartbeat_timer.ts), and runs every assigned attempt as an instant success: on
// `attempt.assign` it asks to start at once, and on the grant reports `attempt.finished`
// with no outputs. It notes when each `attempt.assign` arrived, by job id, on the bench's
// clock, which is what the dispatch latency is measured against.
import WebSocket from "ws";
import {
  outputsDigest,
  parseServerMessage,
  PROTOCOL_VERSION,
  type AgentMessage,
  type ServerMessage,
  type WelcomeMessage,
} from "@labbridge/protocol";
import { HeartbeatTimer } from "./heartbeat_timer.ts";

/** What the bench reads from a fake agent. */
export interface FakeAgentStats {
  assigned: number;
  finished: number;
  /** Reports the gateway acknowledged as not accepted (the lease was gone). */
  refused: number;
  /** Frames the gateway refused with an `error` frame. */
  errors: number;
}

/** The digest of no outputs, computed once: every fake attempt reports it. */
const EMPTY_DIGEST = outputsDigest([]);

function send(ws: WebSocket, m: AgentMessage): void {
  ws.send(JSON.stringify(m));
}

function open(url: string, token: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.once("close", (code) => reject(new Error(`closed with ${code} before open`)));
  });
}

function next(ws: WebSocket, type: ServerMessage["type"]): Promise<ServerMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      const parsed = parseServerMessage(data.toString());
      if (!parsed.ok) return;
      if (parsed.value.type === "error") return done(() => reject(new Error(`gateway error: ${JSON.stringify(parsed.value)}`)));
      if (parsed.value.type === type) done(() => resolve(parsed.value));
    };
    const onClose = (code: number) => done(() => reject(new Error(`closed with ${code} waiting for ${type}`)));
    const done = (f: () => void) => {
      ws.off("message", onMessage);
      ws.off("close", onClose);
      f();
    };
    ws.on("message", onMessage);
    ws.on("close", onClose);
  });
}

/** Exchanges an enrollment token for a credential over the gateway's /v1/enroll. */
export async function enrollFakeAgent(gatewayUrl: string, token: string, name: string): Promise<{ agentId: string; credential: string }> {
  const ws = await open(`${gatewayUrl}/v1/enroll`, token);
  try {
    const enrolled = next(ws, "enrolled");
    send(ws, { type: "enroll", name, hostname: name, os: "linux", labels: { bench: "fake" } });
    const m = (await enrolled) as Extract<ServerMessage, { type: "enrolled" }>;
    return { agentId: m.agent_id, credential: m.credential };
  } finally {
    ws.close();
  }
}

/** One connected fake agent. */
export class FakeAgent {
  readonly stats: FakeAgentStats = { assigned: 0, finished: 0, refused: 0, errors: 0 };
  private readonly held = new Set<string>();
  private readonly heartbeat: HeartbeatTimer;

  private constructor(
    readonly agentId: string,
    private readonly ws: WebSocket,
    private readonly welcome: WelcomeMessage,
    /** Called with (job id, time) the moment an assignment arrives, before anything else. */
    private readonly onAssign: (jobId: string, at: number) => void,
    private readonly clock: () => number,
  ) {
    this.heartbeat = new HeartbeatTimer(welcome, () => this.held.size > 0, () => {
      if (this.ws.readyState === WebSocket.OPEN) send(this.ws, { type: "heartbeat", running: [...this.held] });
    });
  }

  /** Connects with a credential, says hello, and starts heartbeating and taking work. */
  static async connect(opts: { gatewayUrl: string; credential: string; agentId: string; name: string; onAssign: (jobId: string, at: number) => void; clock?: () => number }): Promise<FakeAgent> {
    const ws = await open(`${opts.gatewayUrl}/v1/agent`, opts.credential);
    const welcome = next(ws, "welcome");
    send(ws, { type: "hello", protocol: PROTOCOL_VERSION, agent_version: "bench-fake", os: "linux", hostname: opts.name, gpus: [], running: [], restarted: true });
    const agent = new FakeAgent(opts.agentId, ws, (await welcome) as WelcomeMessage, opts.onAssign, opts.clock ?? (() => performance.now()));
    agent.listen();
    agent.heartbeat.start();
    return agent;
  }

  private listen(): void {
    this.ws.on("message", (data: Buffer) => {
      // Timestamped before parsing, so the figure is when the frame reached the agent.
      const at = this.clock();
      const parsed = parseServerMessage(data.toString());
      if (!parsed.ok) return;
      this.handle(parsed.value, at);
    });
    this.ws.on("error", () => undefined);
  }

  private handle(m: ServerMessage, at: number): void {
    switch (m.type) {
      case "attempt.assign":
        if (this.held.has(m.attempt_id)) return; // a resent assignment: already asked
        this.held.add(m.attempt_id);
        this.heartbeat.busy();
        this.stats.assigned++;
        this.onAssign(m.job_id, at);
        send(this.ws, { type: "attempt.start_request", attempt_id: m.attempt_id });
        return;
      case "attempt.start_granted":
        void EMPTY_DIGEST.then((digest) => {
          send(this.ws, { type: "attempt.finished", attempt_id: m.attempt_id, outcome: "succeeded", exit_code: 0, error: null, outputs: [], output_count: 0, outputs_digest: digest });
        });
        return;
      case "attempt.report_ack":
        this.held.delete(m.attempt_id);
        if (m.accepted) this.stats.finished++;
        else this.stats.refused++;
        return;
      case "attempt.abort":
      case "attempt.cancel":
        this.held.delete(m.attempt_id);
        return;
      case "error":
        this.stats.errors++;
        return;
      default:
        return;
    }
  }

  /** True while the socket is open. */
  get connected(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Stops heartbeating and closes the socket normally. */
  async close(): Promise<void> {
    this.heartbeat.stop();
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const gone = new Promise((r) => this.ws.once("close", r));
    this.ws.close(1000);
    await gone;
  }
}
