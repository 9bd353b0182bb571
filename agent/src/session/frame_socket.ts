// One WebSocket to the gateway, as a queue of parsed server frames. Frames are buffered
// from the moment the socket opens, so no frame is lost between "open" and the first
// read. Authentication is the Authorization header only (Deno's WebSocket accepts a
// non-standard `headers` option): a secret in the URL would end up in proxy logs.
import { type AgentMessage, describeProblems, MAX_FRAME_BYTES, parseServerMessage, type ServerMessage } from "../../../packages/protocol/src/index.ts";
import { decodeBinaryFrame, encodeFrame } from "../../../packages/protocol/src/frame_codec.ts";
import type { Logger } from "../runtime/log.ts";

export interface CloseInfo {
  code: number;
  reason: string;
}

/** Connecting failed before the socket opened; `httpStatus` is set when the gateway answered the upgrade with an HTTP error. */
export class ConnectError extends Error {
  override name = "ConnectError";
  constructor(message: string, readonly httpStatus: number | null) {
    super(message);
  }
}

const encoder = new TextEncoder();

/** UTF-8 size of a frame, as the gateway counts it against MAX_FRAME_BYTES. */
export function frameBytes(msg: AgentMessage): number {
  return encoder.encode(JSON.stringify(msg)).length;
}

export class FrameSocket {
  private readonly queue: ServerMessage[] = [];
  private waiter: (() => void) | null = null;
  private closeInfo: CloseInfo | null = null;
  /** Set once the gateway's welcome agreed on compressed frames (frame_codec.ts). */
  compress = false;
  /** Resolves once the socket is closed, with the close code the gateway gave. */
  readonly closed: Promise<CloseInfo>;

  private constructor(private readonly ws: WebSocket, private readonly log: Logger) {
    ws.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (e) => {
        // Deno reports a connection cut without a close frame as code 0; RFC 6455 names it 1006.
        this.closeInfo = { code: e.code || 1006, reason: e.reason };
        this.wake();
        resolve(this.closeInfo);
      });
    });
    ws.addEventListener("message", (e) => this.onFrame(e.data));
  }

  /** Opens `url` with `Authorization: Bearer <bearer>`; rejects with ConnectError. */
  static connect(url: string, bearer: string, log: Logger, opts: { signal: AbortSignal; timeoutMs: number }): Promise<FrameSocket> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, { headers: { Authorization: `Bearer ${bearer}` } });
      } catch (e) {
        return reject(new ConnectError(e instanceof Error ? e.message : String(e), null));
      }
      const socket = new FrameSocket(ws, log);
      let failure = "connection closed before it opened";
      let status: number | null = null;
      let settled = false;
      const finish = (err: ConnectError | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal.removeEventListener("abort", onAbort);
        ws.removeEventListener("open", onOpen);
        ws.removeEventListener("error", onError);
        if (err) {
          socket.close(1000, "connect abandoned");
          reject(err);
        } else resolve(socket);
      };
      const onOpen = () => finish(null);
      const onError = (e: Event) => {
        // Deno reports a refused upgrade as "... Invalid status code: 401".
        failure = (e as ErrorEvent).message || "connection failed";
        const m = /status code:?\s*(\d{3})/i.exec(failure);
        status = m ? Number(m[1]) : null;
      };
      const onAbort = () => finish(new ConnectError("connect aborted", null));
      const timer = setTimeout(() => finish(new ConnectError(`no connection within ${opts.timeoutMs} ms`, null)), opts.timeoutMs);
      ws.addEventListener("open", onOpen);
      ws.addEventListener("error", onError);
      socket.closed.then(() => finish(new ConnectError(failure, status)));
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Bytes handed to send() that the socket has not written yet. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Sends one frame; false when the socket is not open or the frame is too large to send. */
  send(msg: AgentMessage): boolean {
    if (!this.isOpen) return false;
    const text = JSON.stringify(msg);
    if (encoder.encode(text).length > MAX_FRAME_BYTES) {
      // The gateway would close us with 4413 and we would resend it forever: refuse here.
      this.log.error("frame too large, not sent", { type: msg.type, limit: MAX_FRAME_BYTES });
      return false;
    }
    try {
      this.ws.send(encodeFrame(text, this.compress));
      return true;
    } catch {
      return false;
    }
  }

  /** Next frame from the gateway, or null once the socket is closed or `signal` aborts. */
  async receive(signal: AbortSignal): Promise<ServerMessage | null> {
    while (true) {
      const next = this.queue.shift();
      if (next) return next;
      if (this.closeInfo || signal.aborted) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          this.waiter = null;
          resolve();
        };
        this.waiter = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  close(code = 1000, reason = ""): void {
    if (this.ws.readyState === WebSocket.CLOSING || this.ws.readyState === WebSocket.CLOSED) return;
    try {
      this.ws.close(code, reason);
    } catch {
      // Already closing.
    }
  }

  private wake(): void {
    this.waiter?.();
  }

  private onFrame(frame: unknown): void {
    let data: string;
    if (typeof frame === "string") data = frame;
    else if (frame instanceof ArrayBuffer) {
      // A compressed frame; the gateway sends them only after its welcome agreed to.
      const decoded = decodeBinaryFrame(new Uint8Array(frame));
      if (!decoded.ok) {
        this.log.warn("ignored a binary frame from the gateway", { reason: decoded.reason, bytes: frame.byteLength });
        return;
      }
      data = decoded.text;
    } else {
      this.log.warn("ignored a binary frame from the gateway");
      return;
    }
    if (data.length > MAX_FRAME_BYTES) {
      this.log.warn("ignored an oversized frame from the gateway", { bytes: data.length });
      return;
    }
    const parsed = parseServerMessage(data);
    if (!parsed.ok) {
      this.log.warn("ignored a malformed frame from the gateway", { problems: describeProblems(parsed.problems) });
      return;
    }
    this.queue.push(parsed.value);
    this.wake();
  }
}
