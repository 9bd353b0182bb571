// A small HTTP proxy over real sockets, as campus networks have: CONNECT tunnels (wss, https)
// and absolute-form forwarding (ws, http), optionally asking for Basic credentials (407).
// It records the first request line of every connection, so a test can prove which
// connections went through it.

export interface ProxiedRequest {
  /** e.g. "CONNECT 127.0.0.1:443" or "GET http://127.0.0.1:8080/v1/agent". */
  line: string;
  authorization: string | null;
}

export class TestProxy {
  readonly requests: ProxiedRequest[] = [];
  /** `user:password` the proxy insists on; null: anyone may pass. */
  credentials: string | null = null;
  private readonly listener: Deno.TcpListener;
  private readonly conns = new Set<Deno.Conn>();
  private readonly serving: Promise<void>;

  constructor() {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.serving = this.accept();
  }

  get port(): number {
    return this.listener.addr.port;
  }

  /** The proxy URL, with `user:pass@` when given. */
  url(userinfo = ""): string {
    return `http://${userinfo ? `${userinfo}@` : ""}127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.listener.close();
    for (const c of this.conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    await this.serving.catch(() => {});
  }

  private async accept(): Promise<void> {
    for await (const conn of this.listener) {
      this.conns.add(conn);
      this.serve(conn).catch(() => {}).finally(() => this.conns.delete(conn));
    }
  }

  private async serve(client: Deno.Conn): Promise<void> {
    const { head, rest } = await readHead(client);
    const [line = ""] = head.split("\r\n");
    const auth = /^proxy-authorization:\s*(.*)$/im.exec(head)?.[1]?.trim() ?? null;
    const [method, target] = line.split(" ");
    this.requests.push({ line: `${method} ${target}`, authorization: auth });
    const enc = new TextEncoder();
    if (this.credentials && auth !== `Basic ${btoa(this.credentials)}`) {
      await client.write(enc.encode("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"campus\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
      client.close();
      return;
    }
    let upstream: Deno.Conn;
    if (method === "CONNECT") {
      const [host, port] = target!.split(":");
      upstream = await Deno.connect({ hostname: host!, port: Number(port) });
      this.conns.add(upstream);
      await client.write(enc.encode("HTTP/1.1 200 Connection established\r\n\r\n"));
    } else {
      const url = new URL(target!);
      upstream = await Deno.connect({ hostname: url.hostname, port: Number(url.port || 80) });
      this.conns.add(upstream);
      // Origin form for the origin server; the proxy's own header stays here.
      const forwarded = head.replace(/^(\S+) [^ ]+/, `$1 ${url.pathname}${url.search}`).replace(/^proxy-authorization:.*\r\n/im, "");
      await upstream.write(enc.encode(forwarded));
    }
    if (rest.length) await upstream.write(rest);
    await Promise.allSettled([
      client.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(client.writable),
    ]);
  }
}

/** Reads up to the end of the request head; returns it and whatever came after. */
async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array }> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  while (true) {
    const n = await conn.read(chunk);
    if (n === null) throw new Error("client closed before its request head");
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
    const text = new TextDecoder("latin1").decode(buf);
    const end = text.indexOf("\r\n\r\n");
    if (end !== -1) return { head: text.slice(0, end + 4), rest: buf.subarray(end + 4) };
  }
}
