// A fake gateway over a real socket (Deno.serve + Deno.upgradeWebSocket). Every frame the
// agent sends is checked with the protocol's own parseAgentMessage, so a frame the real
// gateway would refuse fails the test. Behaviour is switched per test with plain fields.
import {
  type AgentMessage,
  describeProblems,
  ID_PREFIX,
  MAX_FRAME_BYTES,
  newId,
  type OutputFile,
  outputKey,
  parseAgentMessage,
  type PresignRequestMessage,
  type PresignResponseMessage,
  type ServerMessage,
} from "../../../packages/protocol/src/index.ts";
import { until } from "./wait.ts";

export interface Conn {
  index: number;
  path: string;
  /** The request URL as received (to prove no secret travels in it). */
  url: string;
  authorization: string | null;
  socket: WebSocket;
  open: boolean;
  closeCode: number | null;
}

export interface Recorded {
  conn: number;
  msg: AgentMessage;
  /** When it arrived (Date.now()), for tests of the agent's timing. */
  at: number;
}

type Of<T extends AgentMessage["type"]> = Extract<AgentMessage, { type: T }>;

export class FakeGateway {
  readonly agentId: string;
  credential: string;
  enrollToken: string;
  readonly frames: Recorded[] = [];
  readonly invalid: string[] = [];
  readonly conns: Conn[] = [];
  /** Refuse this many upcoming /v1/agent upgrades with HTTP 503 (gateway down). */
  refuse = 0;
  /** When each /v1/agent request arrived (Date.now()), refused ones included: the agent's connection attempts. */
  readonly connectAttemptsAt: number[] = [];
  heartbeatSeconds = 0.2;
  /** welcome's idle_heartbeat_seconds; null leaves the field out, as a gateway older than decision 0028 does. */
  idleHeartbeatSeconds: number | null = null;
  leaseTtlSeconds = 2;
  autoGrant = true;
  /** Answers presign.request when set; left unanswered when null (or when it returns null). */
  presign: ((req: PresignRequestMessage) => PresignResponseMessage | null) | null = null;
  /** HTTP status to refuse every /v1/agent upgrade with (e.g. 401), before any WebSocket. */
  refuseUpgradeWith: number | null = null;
  /**
   * Close an agent socket whose credential is not this gateway's right after it opens, with
   * this code (4401 unknown, 4403 revoked), as the real gateway does (decision 0005); null:
   * only at hello, as before.
   */
  refuseCredentialAtOpenWith: number | null = null;
  /** Close code to answer hello with instead of welcome (e.g. 4401). */
  rejectHelloWith: number | null = null;
  /** Answer heartbeats with heartbeat.ack, as the real gateway does. */
  ackHeartbeats = true;
  /** Answer attempt.outputs with attempt.outputs_ack; `false` sends accepted:false; null sends nothing. */
  ackOutputs: boolean | null = true;
  /** Presign responses that would have been over MAX_FRAME_BYTES (answered payload_too_large instead, as the real gateway does). */
  readonly oversized: number[] = [];
  /** Answer attempt.finished with attempt.report_ack; `false` sends accepted:false; null sends nothing. */
  ackReports: boolean | null = true;
  /** How far this gateway's clock (welcome's server_time_ms) is ahead of the real one. */
  clockOffsetMs = 0;
  /** Say nothing at all (a half-open connection: frames go in, nothing comes back). */
  silent = false;
  private readonly server: Deno.HttpServer<Deno.NetAddr>;

  /** `peer`: another gateway of the same deployment, which knows the same agent and token. */
  constructor(peer?: FakeGateway) {
    this.agentId = peer?.agentId ?? newId(ID_PREFIX.agent);
    this.credential = peer?.credential ?? "lbc_test_credential_0123456789";
    this.enrollToken = peer?.enrollToken ?? "lbe_test_token_abcdef";
    this.server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => this.handle(req));
  }

  get url(): string {
    return `ws://127.0.0.1:${this.server.addr.port}`;
  }

  /** The newest open agent connection. */
  current(): Conn | undefined {
    return [...this.conns].reverse().find((c) => c.open && c.path === "/v1/agent");
  }

  send(msg: ServerMessage, conn = this.current()): void {
    if (!conn) throw new Error("no open agent connection");
    conn.socket.send(JSON.stringify(msg));
  }

  /** Drops the current connection from the server side. */
  drop(code = 1011, reason = "test drop"): void {
    this.current()?.socket.close(code, reason);
  }

  framesOf<T extends AgentMessage["type"]>(type: T): Of<T>[] {
    return this.frames.filter((f) => f.msg.type === type).map((f) => f.msg as Of<T>);
  }

  /** Waits for the n-th (0-based) frame of `type` matching `pred`. */
  async waitFor<T extends AgentMessage["type"]>(type: T, pred: (m: Of<T>) => boolean = () => true, timeoutMs = 15_000, nth = 0): Promise<Of<T>> {
    return await this.until(() => this.framesOf(type).filter(pred)[nth], `${type} frame`, timeoutMs);
  }

  /** Every output the agent reported for an attempt of `jobId`, in chunks or inline, once per path (keys filled in), sorted by path. */
  outputsOf(jobId: string, attemptId: string): OutputFile[] {
    const byPath = new Map<string, OutputFile>();
    for (const f of this.frames) {
      const m = f.msg;
      if ((m.type === "attempt.outputs" || m.type === "attempt.finished") && m.attempt_id === attemptId) {
        for (const o of m.outputs) if (!byPath.has(o.path)) byPath.set(o.path, { ...o, key: o.key ?? outputKey(jobId, attemptId, o.path) });
      }
    }
    return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** A mark for waitSince: frames recorded from now on. */
  mark(): number {
    return this.frames.length;
  }

  /** Waits for a frame of `type` matching `pred` recorded after `mark`. */
  async waitSince<T extends AgentMessage["type"]>(mark: number, type: T, pred: (m: Of<T>) => boolean = () => true, timeoutMs = 15_000): Promise<Of<T>> {
    return await this.until(
      () => this.frames.slice(mark).map((f) => f.msg).find((m): m is Of<T> => m.type === type && pred(m as Of<T>)),
      `${type} frame`,
      timeoutMs,
    );
  }

  until<R>(probe: () => R | undefined | false, what: string, timeoutMs = 15_000): Promise<R> {
    return until(probe, what, timeoutMs);
  }

  async close(): Promise<void> {
    for (const c of this.conns) if (c.open) c.socket.close(1001, "test over");
    await this.server.shutdown();
  }

  private handle(req: Request): Response {
    const u = new URL(req.url);
    const authorization = req.headers.get("authorization");
    if (u.pathname !== "/v1/agent" && u.pathname !== "/v1/enroll") return new Response("not found", { status: 404 });
    // Upgrades only: a plain GET (the agent looking for a captive portal's page) is not a connection attempt.
    const upgrade = req.headers.get("upgrade") === "websocket";
    if (u.pathname === "/v1/agent" && upgrade) this.connectAttemptsAt.push(Date.now());
    if (u.pathname === "/v1/agent" && this.refuseUpgradeWith !== null) {
      if (!upgrade) return new Response("refused", { status: this.refuseUpgradeWith });
      this.conns.push({
        index: this.conns.length,
        path: u.pathname,
        url: req.url,
        authorization,
        socket: null as unknown as WebSocket,
        open: false,
        closeCode: null,
      });
      return new Response("refused", { status: this.refuseUpgradeWith });
    }
    if (u.pathname === "/v1/agent" && this.refuse > 0) {
      this.refuse--;
      return new Response("down", { status: 503 });
    }
    if (req.headers.get("upgrade") !== "websocket") return new Response("upgrade required", { status: 426 });
    const { socket, response } = Deno.upgradeWebSocket(req);
    const conn: Conn = { index: this.conns.length, path: u.pathname, url: req.url, authorization, socket, open: false, closeCode: null };
    this.conns.push(conn);
    socket.onopen = () => {
      conn.open = true;
      const refuse = this.refuseCredentialAtOpenWith;
      if (refuse !== null && u.pathname === "/v1/agent" && authorization !== `Bearer ${this.credential}`) socket.close(refuse, "credential refused");
    };
    socket.onclose = (e) => {
      conn.open = false;
      conn.closeCode = e.code;
    };
    socket.onerror = () => {};
    socket.onmessage = (e) => {
      const parsed = parseAgentMessage(String(e.data));
      if (!parsed.ok) {
        this.invalid.push(`${describeProblems(parsed.problems)}: ${String(e.data).slice(0, 300)}`);
        return;
      }
      this.frames.push({ conn: conn.index, msg: parsed.value, at: Date.now() });
      this.react(conn, parsed.value);
    };
    return response;
  }

  private react(conn: Conn, msg: AgentMessage): void {
    const reply = (m: ServerMessage) => conn.socket.send(JSON.stringify(m));
    if (this.silent) return;
    if (conn.path === "/v1/enroll") {
      if (msg.type !== "enroll") return;
      if (conn.authorization !== `Bearer ${this.enrollToken}`) return conn.socket.close(4401, "bad token");
      return reply({ type: "enrolled", agent_id: this.agentId, credential: this.credential });
    }
    switch (msg.type) {
      case "hello":
        if (conn.authorization !== `Bearer ${this.credential}`) return conn.socket.close(4401, "unauthorized");
        if (this.rejectHelloWith !== null) return conn.socket.close(this.rejectHelloWith, "rejected by test");
        return reply({
          type: "welcome",
          agent_id: this.agentId,
          session_id: newId(ID_PREFIX.session),
          heartbeat_seconds: this.heartbeatSeconds,
          ...(this.idleHeartbeatSeconds === null ? {} : { idle_heartbeat_seconds: this.idleHeartbeatSeconds }),
          lease_ttl_seconds: this.leaseTtlSeconds,
          server_time_ms: Date.now() + this.clockOffsetMs,
        });
      case "attempt.start_request":
        if (this.autoGrant) reply({ type: "attempt.start_granted", attempt_id: msg.attempt_id });
        return;
      case "presign.request": {
        if (!this.presign) return;
        const response = this.presign(msg);
        if (!response) return;
        const bytes = new TextEncoder().encode(JSON.stringify(response)).length;
        if (bytes <= MAX_FRAME_BYTES) return reply(response);
        this.oversized.push(bytes);
        return reply({ ...response, uploads: [], error: { code: "payload_too_large", message: `${bytes} bytes: ask for fewer files` } });
      }
      case "attempt.outputs":
        if (this.ackOutputs !== null) reply({ type: "attempt.outputs_ack", attempt_id: msg.attempt_id, seq: msg.seq, accepted: this.ackOutputs });
        return;
      case "heartbeat":
        if (this.ackHeartbeats) reply({ type: "heartbeat.ack" });
        return;
      case "attempt.finished":
        if (this.ackReports !== null) reply({ type: "attempt.report_ack", attempt_id: msg.attempt_id, accepted: this.ackReports });
        return;
    }
  }
}
