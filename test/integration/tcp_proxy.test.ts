import { afterEach, beforeEach, describe, expect, it } from "vitest";
import net, { type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { TcpProxy } from "../harness/tcp_proxy.ts";
import { TEST_REDIS_URL, waitFor } from "../harness/test_env.ts";

// The fault-injection proxy over real sockets: an echo server behind it, then the real Redis
// with ioredis, to show a client library sees the faults the way it would on a real network.

/** A client socket that records what arrives and how it ended. */
interface Client {
  socket: Socket;
  received: () => string;
  /** Resolves as soon as `received()` contains `text`. */
  waitForText: (text: string, timeoutMs?: number) => Promise<void>;
  closed: Promise<{ error: NodeJS.ErrnoException | null }>;
  ended: Promise<void>;
}

function connect(port: number): Promise<Client> {
  const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  let length = 0;
  let error: NodeJS.ErrnoException | null = null;
  socket.on("error", (err) => (error = err));
  socket.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
  });
  const received = () => Buffer.concat(chunks).toString();
  const waitForText = (text: string, timeoutMs = 2_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        // The length test first: a multi-megabyte echo would otherwise re-join every chunk.
        if (length < text.length || !received().includes(text)) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`No "${text.slice(0, 40)}" within ${timeoutMs} ms: received ${received().length} bytes`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        socket.off("data", check);
      };
      socket.on("data", check);
      check();
    });
  const closed = new Promise<{ error: NodeJS.ErrnoException | null }>((resolve) => socket.once("close", () => resolve({ error })));
  const ended = new Promise<void>((resolve) => socket.once("end", () => resolve()));
  const client: Client = {
    socket,
    received,
    waitForText,
    closed,
    ended,
  };
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(client));
    socket.once("close", () => reject(error ?? new Error("Closed before connect")));
  });
}

/**
 * The error code a connection to `port` ends with. A connection reset right after accept may
 * fail the connect itself: by the time libuv reports the handshake, SO_ERROR holds the RST.
 */
async function connectError(port: number): Promise<string | undefined> {
  try {
    const c = await connect(port);
    return (await c.closed).error?.code;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let echo: net.Server;
let echoSockets: Set<Socket>;
let proxy: TcpProxy;
const clients: Client[] = [];

async function client(): Promise<Client> {
  const c = await connect(proxy.port);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  echoSockets = new Set();
  echo = net.createServer((s) => {
    echoSockets.add(s);
    s.on("error", () => {});
    s.on("close", () => echoSockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  proxy = await TcpProxy.start({ target: { host: "127.0.0.1", port: (echo.address() as net.AddressInfo).port }, name: "echo" });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await proxy.close();
  for (const s of echoSockets) s.destroy();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

describe("TcpProxy", () => {
  it("bytes pass through both ways", async () => {
    const c = await client();
    c.socket.write("hello");
    await c.waitForText("hello");
    // Enough to fill socket buffers, so back-pressure has to hold the echo's reads.
    const big = randomBytes(2 * 1024 * 1024).toString("hex");
    c.socket.write(big);
    await c.waitForText(big, 5_000);
    expect(c.received()).toBe("hello" + big);
    expect(proxy.stats()).toMatchObject({ accepted: 1, open: 1, bytesUp: 5 + big.length, bytesDown: 5 + big.length, mode: "up" });
  });

  it("a reader that does not read makes the proxy stop reading from the writer", async () => {
    const total = 64 * 1024 * 1024;
    const source = net.createServer((s) => {
      s.on("error", () => {});
      s.end(Buffer.alloc(total));
    });
    await new Promise<void>((resolve) => source.listen(0, "127.0.0.1", resolve));
    const fast = await TcpProxy.start({ target: { host: "127.0.0.1", port: (source.address() as net.AddressInfo).port } });
    try {
      const c = await connect(fast.port);
      c.socket.pause();
      await sleep(300);
      // Only the kernel's socket buffers and one stream high-water mark may hold unread bytes.
      const held = fast.stats().bytesDown;
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThan(total / 4);
      let got = 0;
      c.socket.on("data", (chunk: Buffer) => (got += chunk.length));
      c.socket.resume();
      await c.ended;
      expect(got).toBe(total);
      c.socket.destroy();
    } finally {
      await fast.close();
      await new Promise<void>((resolve) => source.close(() => resolve()));
    }
  });

  it("a half-close travels through and the far side's end comes back", async () => {
    const c = await client();
    c.socket.end("bye");
    await c.ended;
    expect(c.received()).toBe("bye");
    expect((await c.closed).error).toBeNull();
    await waitFor(() => proxy.stats().open === 0, 2_000);
  });

  it("an upstream that refuses the connection gets the client reset", async () => {
    const free = net.createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const dead = await TcpProxy.start({ target: { host: "127.0.0.1", port } });
    try {
      const c = await connect(dead.port);
      expect((await c.closed).error?.code).toBe("ECONNRESET");
      expect(dead.stats().open).toBe(0);
    } finally {
      await dead.close();
    }
  });

  it("cut resets open connections and refuses new ones until restore", async () => {
    const c = await client();
    c.socket.write("before");
    await c.waitForText("before");
    proxy.cut();
    expect((await c.closed).error?.code).toBe("ECONNRESET");
    expect(proxy.stats()).toMatchObject({ open: 0, mode: "cut" });

    expect(await connectError(proxy.port)).toBe("ECONNRESET");

    proxy.restore();
    const after = await client();
    after.socket.write("after");
    await after.waitForText("after");
    expect(proxy.stats()).toMatchObject({ accepted: 3, open: 1, mode: "up" });
  });

  it("blackhole keeps the client connected but nothing arrives, restore then resets it and new connections work", async () => {
    const c = await client();
    c.socket.write("before");
    await c.waitForText("before");
    proxy.blackhole();
    c.socket.write("lost");
    const during = await client();
    during.socket.write("lost too");
    await sleep(300);
    expect(c.received()).toBe("before");
    expect(during.received()).toBe("");
    expect(c.socket.destroyed || during.socket.destroyed).toBe(false);
    expect(proxy.stats()).toMatchObject({ open: 2, mode: "blackhole" });

    proxy.restore();
    expect((await c.closed).error?.code).toBe("ECONNRESET");
    expect((await during.closed).error?.code).toBe("ECONNRESET");
    const after = await client();
    after.socket.write("after");
    await after.waitForText("after");
    expect(proxy.stats().open).toBe(1);
  });

  it("delay(200) delays an echo round trip by at least 400 ms and keeps the order of 100 small writes", async () => {
    const c = await client();
    proxy.delay(200);
    const t0 = performance.now();
    c.socket.write("ping;");
    await c.waitForText("ping;");
    const rtt = performance.now() - t0;
    expect(rtt).toBeGreaterThanOrEqual(400);
    expect(rtt).toBeLessThan(1_500);

    let expected = "ping;";
    for (let i = 0; i < 100; i++) {
      c.socket.write(`${i};`);
      expected += `${i};`;
    }
    await c.waitForText("99;");
    expect(c.received()).toBe(expected);
    expect(proxy.stats().mode).toBe("delay");
  });

  it("close() frees the port", async () => {
    const c = await client();
    const port = proxy.port;
    await proxy.close();
    await c.ended;
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once("error", reject);
      again.listen(port, "127.0.0.1", resolve);
    });
    await new Promise<void>((resolve) => again.close(() => resolve()));
  });

  it("ioredis through the proxy fails on cut and reconnects by itself after restore", async () => {
    const redisUrl = new URL(TEST_REDIS_URL);
    const redisProxy = await TcpProxy.start({ target: { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) }, name: "redis" });
    const errors: Error[] = [];
    const redis = new Redis({ host: "127.0.0.1", port: redisProxy.port, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    redis.on("error", (err) => errors.push(err));
    const key = `lbtest-proxy-${randomBytes(6).toString("hex")}`;
    try {
      expect(await redis.ping()).toBe("PONG");
      await redis.set(key, "v1");

      redisProxy.cut();
      await expect(redis.get(key)).rejects.toThrow();
      expect(errors.some((e) => (e as NodeJS.ErrnoException).code === "ECONNRESET")).toBe(true);

      redisProxy.restore();
      await waitFor(() => redis.status === "ready", 5_000);
      expect(await redis.ping()).toBe("PONG");
      expect(await redis.get(key)).toBe("v1");
      expect(redisProxy.stats().accepted).toBeGreaterThanOrEqual(3);
    } finally {
      await redis.del(key).catch(() => {});
      redis.disconnect();
      await redisProxy.close();
    }
  });
});
