// A scripted agent for gateway tests: a real `ws` client on a real socket, speaking the
// protocol frame by frame, so each test decides exactly what the agent says and when.
import WebSocket from "ws";
import { PROTOCOL_VERSION, type ServerMessage } from "@labbridge/protocol";
import { decodeBinaryFrame } from "@labbridge/protocol/frame_codec";

type Select<M, T> = M extends { type: infer U } ? (T extends U ? M : never) : never;
/** The server message of a type (StopMessage serves two types). */
export type MessageOf<T extends ServerMessage["type"]> = Select<ServerMessage, T>;

/** How a socket ended. */
export interface Closed {
  code: number;
  reason: string;
}

/** One scripted agent connection. */
export class ScriptedAgent {
  /** Every frame received, in order, parsed. */
  readonly received: ServerMessage[] = [];
  /** The types of the frames that came deflated (binary), in order. */
  readonly binaryTypes: string[] = [];
  readonly closed: Promise<Closed>;
  private consumed = new Set<number>();
  private listeners: (() => void)[] = [];
  private closeInfo: Closed | null = null;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    ws.on("message", (data, isBinary) => {
      if (!isBinary) this.received.push(JSON.parse(data.toString()) as ServerMessage);
      else {
        // A compressed frame (after a welcome that agreed to it): read it like the text it holds.
        const decoded = decodeBinaryFrame(new Uint8Array(data as Buffer));
        if (decoded.ok) {
          const msg = JSON.parse(decoded.text) as ServerMessage;
          this.binaryTypes.push(msg.type);
          this.received.push(msg);
        }
      }
      this.wake();
    });
    ws.on("error", () => undefined); // the close event carries what tests check
  }

  /** Opens a socket to `url` with an optional bearer token; resolves once it is open (or closed). */
  static connect(url: string, token?: string): Promise<ScriptedAgent> {
    const ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const agent = new ScriptedAgent(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(agent));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      ws.once("close", () => resolve(agent));
    });
  }

  private wake(): void {
    for (const l of this.listeners.splice(0)) l();
  }

  /** Sends one frame as JSON. */
  send(message: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Sends raw text (or bytes) as one frame. */
  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Sends hello with sensible defaults. */
  hello(overrides: Record<string, unknown> = {}): void {
    this.send({
      type: "hello", protocol: PROTOCOL_VERSION, agent_version: "test", os: "linux", hostname: "test-host",
      gpus: [{ name: "NVIDIA GeForce RTX 4090", memory_mb: 24564 }], running: [], restarted: false, ...overrides,
    });
  }

  /** Waits for the next not-yet-taken frame of `type` (optionally matching `where`) and takes it. */
  async next<T extends ServerMessage["type"]>(type: T, where: (m: MessageOf<T>) => boolean = () => true, timeoutMs = 5000): Promise<MessageOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((m, idx) => !this.consumed.has(idx) && m.type === type && where(m as MessageOf<T>));
      if (i >= 0) {
        this.consumed.add(i);
        return this.received[i] as MessageOf<T>;
      }
      if (this.closeInfo) throw new Error(`socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) before a "${type}" frame; got ${JSON.stringify(this.received)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${type}" frame within ${timeoutMs} ms; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.listeners.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Frames of a type received so far (taken or not). */
  all<T extends ServerMessage["type"]>(type: T): MessageOf<T>[] {
    return this.received.filter((m) => m.type === type) as MessageOf<T>[];
  }

  /** Waits for the socket to close, within `timeoutMs`. */
  async waitClosed(timeoutMs = 5000): Promise<Closed> {
    return Promise.race([
      this.closed,
      new Promise<Closed>((_, reject) => setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs)),
    ]);
  }

  /** Closes from the agent's side. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000);
    await this.waitClosed().catch(() => this.ws.terminate());
  }

  /** Drops the TCP connection without a close frame, like a pulled cable. */
  terminate(): void {
    this.ws.terminate();
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }
}
