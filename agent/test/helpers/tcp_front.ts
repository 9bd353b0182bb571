// A TCP relay in front of a FakeGateway, for failures Deno.serve cannot fake: the gateway
// process dying (every connection cut with no WebSocket close frame, the port then
// refusing connections) and the path going half-open (bytes stop flowing both ways while
// TCP stays up, as after a NAT or Wi-Fi drop).
import type { FakeGateway } from "./fake_gateway.ts";

interface Pair {
  client: Deno.Conn;
  upstream: Deno.Conn | null;
  pumps: Promise<void>;
}

export class TcpFront {
  private readonly listener: Deno.TcpListener;
  private readonly pairs = new Set<Pair>();
  private readonly accepting: Promise<void>;
  /** While true, relayed bytes are dropped: the connection is half-open. */
  frozen = false;
  private crashed = false;

  constructor(private readonly gateway: FakeGateway) {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.accepting = this.accept();
  }

  get url(): string {
    return `ws://127.0.0.1:${this.listener.addr.port}`;
  }

  /** The gateway process dies: connections are cut without a close frame; new ones are refused. */
  async crash(): Promise<void> {
    if (this.crashed) return;
    this.crashed = true;
    this.listener.close();
    for (const p of this.pairs) this.cut(p);
    await this.accepting;
    await Promise.all([...this.pairs].map((p) => p.pumps));
  }

  private async accept(): Promise<void> {
    try {
      for await (const client of this.listener) {
        const pair: Pair = { client, upstream: null, pumps: Promise.resolve() };
        this.pairs.add(pair);
        pair.pumps = this.relay(pair).finally(() => this.pairs.delete(pair));
      }
    } catch {
      // The listener was closed by crash().
    }
  }

  private async relay(pair: Pair): Promise<void> {
    const port = new URL(this.gateway.url).port;
    try {
      pair.upstream = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    } catch {
      this.cut(pair);
      return;
    }
    if (this.crashed) return this.cut(pair);
    await Promise.all([this.pump(pair.client, pair.upstream, pair), this.pump(pair.upstream, pair.client, pair)]);
  }

  private async pump(from: Deno.Conn, to: Deno.Conn, pair: Pair): Promise<void> {
    const buf = new Uint8Array(16 * 1024);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        if (this.frozen) continue;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // Cut by crash() or by the other side.
    }
    this.cut(pair);
  }

  private cut(pair: Pair): void {
    for (const c of [pair.client, pair.upstream]) {
      try {
        c?.close();
      } catch {
        // Already closed.
      }
    }
  }
}
