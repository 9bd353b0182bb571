import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { RedisServer } from "../harness/redis_server.ts";

// A private redis-server crashed with SIGKILL and restarted from its AOF: the structures the
// services rely on (a stream with a group and a pending entry, a sorted set, a hash) come back.

let dir: string;
const servers: RedisServer[] = [];
const clients: Redis[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lb-redis-server-"));
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function start(opts: Partial<Parameters<typeof RedisServer.start>[0]> = {}): Promise<RedisServer> {
  const server = await RedisServer.start({ dir: join(dir, "data"), ...opts });
  servers.push(server);
  return server;
}

function connect(server: RedisServer): Redis {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on("error", () => {});
  clients.push(redis);
  return redis;
}

/** Writes a stream with a group and one pending entry, a sorted set and a hash. */
async function writeState(redis: Redis): Promise<string> {
  const id = (await redis.xadd("jobs", "*", "job_id", "job_1", "spec", "{}"))!;
  await redis.xadd("jobs", "*", "job_id", "job_2", "spec", "{}");
  await redis.xgroup("CREATE", "jobs", "workers", "0");
  await redis.xreadgroup("GROUP", "workers", "agent-a", "COUNT", 1, "STREAMS", "jobs", ">");
  await redis.zadd("leases", 1_700_000_030_000, "att_1", 1_700_000_060_000, "att_2");
  await redis.hset("holders", { att_1: "agt_A|job_1|0", att_2: "agt_B|job_2|1" });
  return id;
}

async function expectState(redis: Redis, pendingId: string): Promise<void> {
  expect(await redis.xlen("jobs")).toBe(2);
  const pending = (await redis.xpending("jobs", "workers", "-", "+", 10)) as [string, string, number, number][];
  expect(pending.map(([id, consumer, , deliveries]) => [id, consumer, deliveries])).toEqual([[pendingId, "agent-a", 1]]);
  const groups = (await redis.xinfo("GROUPS", "jobs")) as unknown[][];
  expect(groups).toHaveLength(1);
  expect(groups[0]).toEqual(expect.arrayContaining(["name", "workers", "pending", 1, "last-delivered-id", pendingId]));
  expect(await redis.zrange("leases", 0, -1, "WITHSCORES")).toEqual(["att_1", "1700000030000", "att_2", "1700000060000"]);
  expect(await redis.hgetall("holders")).toEqual({ att_1: "agt_A|job_1|0", att_2: "agt_B|job_2|1" });
}

/** The error code of a connection attempt to `port`, or "connected". */
function probePort(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe("RedisServer", () => {
  it("a stream group with a pending entry, a sorted set and a hash survive SIGKILL and restart with appendfsync always", async () => {
    const server = await start({ appendfsync: "always" });
    const before = connect(server);
    const pendingId = await writeState(before);
    before.disconnect();

    await server.kill("SIGKILL");
    expect(server.running).toBe(false);
    expect(await probePort(server.port)).toBe("ECONNREFUSED");
    await server.restart();

    await expectState(connect(server), pendingId);
  });

  it("with the default everysec, writes a second old survive SIGKILL and restart", async () => {
    const server = await start();
    expect(server.appendfsync).toBe("everysec");
    const before = connect(server);
    const pendingId = await writeState(before);
    before.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    await server.kill();
    await server.restart();

    await expectState(connect(server), pendingId);
  });

  it("restart keeps the port and the url", async () => {
    const server = await start();
    const { port, url } = server;
    const pid = server.pid;
    await server.kill();
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.url).toBe(url);
    expect(server.pid).not.toBe(pid);
    expect(await connect(server).ping()).toBe("PONG");
  });

  it("stop() leaves nothing listening", async () => {
    const server = await start();
    expect(await probePort(server.port)).toBe("connected");
    await server.stop();
    expect(server.running).toBe(false);
    expect(await probePort(server.port)).toBe("ECONNREFUSED");
    // AOF only: a clean shutdown writes no RDB snapshot either.
    expect(existsSync(join(server.dir, "appendonlydir"))).toBe(true);
    expect(existsSync(join(server.dir, "dump.rdb"))).toBe(false);
  });

  it("a server that cannot start fails with the tail of its log", async () => {
    // The port's owner accepts and never answers, as a stray process would; the probe must not hang on it.
    const accepted = new Set<net.Socket>();
    const taken = net.createServer((s) => {
      accepted.add(s);
      s.on("error", () => {});
    });
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      await expect(start({ port })).rejects.toThrow(/exited while starting[\s\S]*Address already in use/);
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
