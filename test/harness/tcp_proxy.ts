// A TCP proxy the fault-injection tests put between a client and a real server, so they can
// pull the cable (RST), silently drop every byte (NAT/Wi-Fi loss), or add latency, and undo it.
// It promises never to crash the test process with a socket 'error', and keeps byte order.
import net, { type Socket } from "node:net";
import { performance } from "node:perf_hooks";

/** Where the proxy forwards to. */
export interface ProxyTarget {
  host: string;
  port: number;
}

/** What the link does now. */
export type ProxyMode = "up" | "cut" | "blackhole" | "delay";

/** Counters for assertions and logs; bytes are counted when written to the far side. */
export interface ProxyStats {
  accepted: number;
  open: number;
  bytesUp: number;
  bytesDown: number;
  mode: ProxyMode;
}

// A delayed direction stops reading once this much waits in its queue, so a slow link
// pushes back on the sender instead of buffering without bound.
const QUEUE_HIGH_WATER = 1024 * 1024;

/** One direction of a pair; `to` is null for a connection accepted during a blackhole. */
interface Direction {
  readonly name: "up" | "down";
  readonly from: Socket;
  readonly to: Socket | null;
  /** Chunks (null = the FIN) not yet written, each with the time it may go. */
  queue: { chunk: Buffer | null; due: number }[];
  queuedBytes: number;
  timer: NodeJS.Timeout | null;
  waitingDrain: boolean;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket | null;
  readonly up: Direction;
  readonly down: Direction;
  /** Lived through a blackhole: bytes were lost, so the stream is broken for good. */
  lost: boolean;
  /** Torn down by the proxy; late events of its sockets are ignored. */
  done: boolean;
}

const ignore = (): void => {};

/** Sends an RST where there is a connection to reset, else just destroys the socket. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** A TCP proxy with switchable faults: cut, blackhole, delay, restore. */
export class TcpProxy {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  private mode: ProxyMode = "up";
  private delayMs = 0;
  private readonly pairs = new Set<Pair>();
  /** Connections accepted while cut, reset at once; kept only so close() can reach them. */
  private readonly strays = new Set<Socket>();
  private accepted = 0;
  private bytesUp = 0;
  private bytesDown = 0;
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    readonly target: ProxyTarget,
    name: string,
    host: string,
    port: number,
  ) {
    this.name = name;
    this.host = host;
    this.port = port;
  }

  /** Listens on `listenHost:listenPort` (127.0.0.1, a free port by default) and forwards to `target`. */
  static async start(opts: { target: ProxyTarget; name?: string; listenHost?: string; listenPort?: number }): Promise<TcpProxy> {
    const host = opts.listenHost ?? "127.0.0.1";
    // allowHalfOpen: the proxy decides when to end each side, so a half-close travels through.
    const server = net.createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.listenPort ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const port = (server.address() as net.AddressInfo).port;
    const proxy = new TcpProxy(server, opts.target, opts.name ?? `proxy-${port}`, host, port);
    server.on("connection", (socket) => proxy.onConnection(socket));
    server.on("error", ignore);
    return proxy;
  }

  /** "host:port" of the listening side, to hand to a client instead of the target's. */
  get url(): string {
    return `${this.host}:${this.port}`;
  }

  /** Link down like a cable pulled with RST: open pairs are reset, new connections are reset at once. */
  cut(): void {
    this.mode = "cut";
    this.delayMs = 0;
    for (const pair of [...this.pairs]) this.teardown(pair, "reset");
  }

  /** Link silently dead: pairs stay open, bytes and FINs are dropped both ways, new connections get no upstream. */
  blackhole(): void {
    this.mode = "blackhole";
    this.delayMs = 0;
    for (const pair of this.pairs) {
      pair.lost = true;
      for (const dir of [pair.up, pair.down]) {
        this.clearQueue(dir);
        dir.waitingDrain = false;
        // Keep reading so the bytes are dropped here rather than piling up in the kernel.
        this.updateFlow(dir);
      }
    }
  }

  /** Every chunk in both directions is forwarded `ms` later, in order. */
  delay(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`Invalid delay "${ms}": must be a number of milliseconds >= 0`);
    this.resetLostPairs();
    this.mode = "delay";
    this.delayMs = ms;
  }

  /** Back to normal forwarding; connections that lived through a blackhole are reset, their streams being broken. */
  restore(): void {
    this.resetLostPairs();
    this.mode = "up";
    this.delayMs = 0;
  }

  /** Counters and the current mode. */
  stats(): ProxyStats {
    return { accepted: this.accepted, open: this.pairs.size, bytesUp: this.bytesUp, bytesDown: this.bytesDown, mode: this.mode };
  }

  /** Destroys every connection and stops listening; a second call does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const pair of [...this.pairs]) this.teardown(pair, "destroy");
    for (const socket of this.strays) socket.destroy();
    this.strays.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: Socket): void {
    this.accepted++;
    client.on("error", ignore);
    if (this.mode === "cut") {
      this.strays.add(client);
      client.once("close", () => this.strays.delete(client));
      reset(client);
      return;
    }
    const upstream =
      this.mode === "blackhole" ? null : net.connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    upstream?.on("error", ignore);
    const direction = (name: "up" | "down", from: Socket, to: Socket | null): Direction => ({
      name, from, to, queue: [], queuedBytes: 0, timer: null, waitingDrain: false,
    });
    const pair: Pair = {
      client,
      upstream,
      up: direction("up", client, upstream),
      down: direction("down", upstream ?? client, upstream ? client : null),
      lost: this.mode === "blackhole",
      done: false,
    };
    this.pairs.add(pair);
    this.wire(pair, pair.up);
    if (upstream) this.wire(pair, pair.down);
  }

  private wire(pair: Pair, dir: Direction): void {
    dir.from.on("data", (chunk: Buffer) => this.onChunk(pair, dir, chunk));
    dir.from.on("end", () => this.onEnd(pair, dir));
    dir.from.on("close", (hadError) => this.onClose(pair, dir, hadError));
  }

  private onChunk(pair: Pair, dir: Direction, chunk: Buffer): void {
    if (pair.done || pair.lost || !dir.to) return; // dropped on the floor
    if (this.mode === "delay" || dir.queue.length > 0) {
      this.enqueue(pair, dir, chunk);
      return;
    }
    this.write(dir, chunk);
  }

  private onEnd(pair: Pair, dir: Direction): void {
    if (pair.done || pair.lost || !dir.to) return; // the FIN is lost too
    if (this.mode === "delay" || dir.queue.length > 0) this.enqueue(pair, dir, null);
    else if (!dir.to.destroyed) dir.to.end();
  }

  /**
   * A side closed. After a reset or error the other side is reset too. A clean close needs
   * nothing: it means both FINs already went through, and the other side closes by itself.
   */
  private onClose(pair: Pair, dir: Direction, hadError: boolean): void {
    if (pair.done) return;
    if (pair.lost) {
      // Nothing crosses a blackhole; the other side learns of it on restore().
      if (pair.client.destroyed && (!pair.upstream || pair.upstream.destroyed)) this.forget(pair);
      return;
    }
    if (hadError) {
      this.teardown(pair, "reset");
      return;
    }
    if (dir.to?.destroyed !== false) this.forget(pair);
  }

  private enqueue(pair: Pair, dir: Direction, chunk: Buffer | null): void {
    dir.queue.push({ chunk, due: performance.now() + this.delayMs });
    if (chunk) dir.queuedBytes += chunk.length;
    this.updateFlow(dir);
    if (!dir.timer) this.schedule(pair, dir);
  }

  private schedule(pair: Pair, dir: Direction): void {
    const head = dir.queue[0];
    if (!head) return;
    // Timers may fire a little early against the monotonic clock; the loop in flush re-arms.
    dir.timer = setTimeout(() => this.flush(pair, dir), Math.max(0, Math.ceil(head.due - performance.now())));
  }

  private flush(pair: Pair, dir: Direction): void {
    dir.timer = null;
    if (pair.done || !dir.to) return;
    const now = performance.now();
    while (dir.queue[0] && dir.queue[0].due <= now) {
      const { chunk } = dir.queue.shift()!;
      if (chunk === null) {
        if (!dir.to.destroyed) dir.to.end();
        continue;
      }
      dir.queuedBytes -= chunk.length;
      this.write(dir, chunk);
    }
    this.updateFlow(dir);
    this.schedule(pair, dir);
  }

  private write(dir: Direction, chunk: Buffer): void {
    const to = dir.to;
    if (!to || to.destroyed || to.writableEnded) return;
    if (dir.name === "up") this.bytesUp += chunk.length;
    else this.bytesDown += chunk.length;
    if (!to.write(chunk) && !dir.waitingDrain) {
      dir.waitingDrain = true;
      to.once("drain", () => {
        dir.waitingDrain = false;
        this.updateFlow(dir);
      });
    }
    this.updateFlow(dir);
  }

  /** Pauses the reading side while the writing side is full or the delay queue is long. */
  private updateFlow(dir: Direction): void {
    if (dir.from.destroyed) return;
    const hold = this.mode !== "blackhole" && (dir.waitingDrain || dir.queuedBytes > QUEUE_HIGH_WATER);
    if (hold && !dir.from.isPaused()) dir.from.pause();
    else if (!hold && dir.from.isPaused()) dir.from.resume();
  }

  private clearQueue(dir: Direction): void {
    if (dir.timer) clearTimeout(dir.timer);
    dir.timer = null;
    dir.queue = [];
    dir.queuedBytes = 0;
  }

  private resetLostPairs(): void {
    for (const pair of [...this.pairs]) if (pair.lost) this.teardown(pair, "reset");
  }

  private teardown(pair: Pair, how: "reset" | "destroy"): void {
    this.forget(pair);
    for (const socket of [pair.client, pair.upstream]) {
      if (!socket) continue;
      if (how === "reset") reset(socket);
      else socket.destroy();
    }
  }

  private forget(pair: Pair): void {
    pair.done = true;
    this.clearQueue(pair.up);
    this.clearQueue(pair.down);
    this.pairs.delete(pair);
  }
}
