import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { createLogger } from "@labbridge/logging";
import type { StreamEntry } from "@labbridge/protocol";
import { appendEntry, consumeGroup, ensureGroup, type ConsumeOptions } from "@labbridge/streams";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";

// The consumer-group loop on a real Redis: ack after success, retry on failure, reclaim
// from dead consumers (XAUTOCLAIM), drop poison, and share a group without duplicates.

const log = createLogger("consume-group-test", "silent");
const GROUP = "workers";

let env: TestEnv;
let stream: string;
let admin: Redis;
const running: { controller: AbortController; done: Promise<void>; redis: Redis }[] = [];

beforeEach(async () => {
  env = await createTestEnv();
  stream = `${env.config.prefix}:work`;
  admin = new Redis(env.config.redisUrl);
});

afterEach(async () => {
  for (const r of running.splice(0)) {
    r.controller.abort();
    await r.done;
    r.redis.disconnect();
  }
  admin.disconnect();
  await env.cleanup();
});

/** Starts one consumer on its own connection; stopped in afterEach. */
function startConsumer(consumer: string, handler: ConsumeOptions["handler"], opts: Partial<ConsumeOptions> = {}) {
  const controller = new AbortController();
  const redis = new Redis(env.config.redisUrl);
  const done = consumeGroup({
    redis, stream, group: GROUP, consumer, handler, log, signal: controller.signal, blockMs: 50, claimIdleMs: 200, ...opts,
  });
  running.push({ controller, done, redis });
  return { controller, done };
}

async function add(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await appendEntry(admin, stream, { type: "work.item", job_id: `job_${i}`, data: { i } }));
  return ids;
}

/** Appends one entry that is not work (a sentinel the test waits on); returns its id. */
async function addSentinel(): Promise<string> {
  return appendEntry(admin, stream, { type: "work.sentinel", data: {} });
}

async function pendingCount(): Promise<number> {
  const summary = (await admin.xpending(stream, GROUP)) as [number, ...unknown[]];
  return Number(summary[0]);
}

describe("consumeGroup", () => {
  it("acks an entry only after its handler has succeeded", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: string[] = [];
    const finished: string[] = [];
    startConsumer("c1", async (_entry, id) => {
      started.push(id);
      await gate;
      finished.push(id);
    });
    const [id] = await add(1);
    await waitFor(() => started.length === 1, 5000, "handler to start");
    expect(await pendingCount()).toBe(1);
    release();
    await waitFor(async () => (await pendingCount()) === 0, 5000, "entry to be acked");
    expect(finished).toEqual([id]);
  });

  it("hands the handler the decoded entry and its stream id", async () => {
    const seen: [StreamEntry, string][] = [];
    startConsumer("c1", async (entry, id) => void seen.push([entry, id]));
    const [id] = await add(1);
    await waitFor(() => seen.length === 1, 5000, "delivery");
    expect(seen[0]![1]).toBe(id);
    expect(seen[0]![0]).toMatchObject({ type: "work.item", v: 1, job_id: "job_0", data: { i: 0 } });
  });

  it("leaves an entry pending when its handler throws, and retries it until it succeeds", async () => {
    const calls: string[] = [];
    startConsumer("c1", async (_entry, id) => {
      calls.push(id);
      if (calls.length < 3) throw new Error("MySQL is away");
    });
    const [id] = await add(1);
    await waitFor(() => calls.length >= 1, 5000, "first delivery");
    expect(await pendingCount()).toBe(1);
    await waitFor(async () => calls.length >= 3 && (await pendingCount()) === 0, 10_000, "retried entry to be acked");
    expect(new Set(calls)).toEqual(new Set([id]));
    expect(calls).toHaveLength(3);
  });

  it("reclaims entries left pending by a dead consumer", async () => {
    await ensureGroup(admin, stream, GROUP);
    const ids = await add(2);
    // A consumer reads both entries and dies without acking.
    const read = (await admin.xreadgroup("GROUP", GROUP, "dead", "COUNT", 10, "STREAMS", stream, ">")) as [string, [string, string[]][]][];
    expect(read[0]![1].map(([id]) => id)).toEqual(ids);

    const handled: string[] = [];
    startConsumer("alive", async (_entry, id) => void handled.push(id), { claimIdleMs: 150 });
    await waitFor(async () => handled.length === 2 && (await pendingCount()) === 0, 10_000, "reclaim");
    expect(handled.sort()).toEqual([...ids].sort());
    const consumers = (await admin.xinfo("CONSUMERS", stream, GROUP)) as unknown[][];
    const pendingOf = Object.fromEntries(consumers.map((c) => [c[1], c[3]]));
    expect(pendingOf).toMatchObject({ dead: 0, alive: 0 });
  });

  it("does not take entries that a live consumer is still within claimIdleMs of handling", async () => {
    await ensureGroup(admin, stream, GROUP);
    await add(1);
    await admin.xreadgroup("GROUP", GROUP, "busy", "COUNT", 10, "STREAMS", stream, ">");
    const handled: string[] = [];
    startConsumer("other", async (_entry, id) => void handled.push(id), { claimIdleMs: 60_000 });
    // A consumer's first pass tries to reclaim before it reads new entries: once it has
    // handled an entry written after it started, that reclaim has run and taken nothing.
    const sentinel = await addSentinel();
    await waitFor(() => handled.includes(sentinel), 5000, "sentinel handled");
    expect(handled).toEqual([sentinel]);
    expect(await pendingCount()).toBe(1);
  });

  it("drops a poisoned entry after maxDeliveries and goes on with the next", async () => {
    const calls = new Map<string, number>();
    startConsumer("c1", async (entry, id) => {
      calls.set(id, (calls.get(id) ?? 0) + 1);
      if (entry.data.i === 0) throw new Error("always fails");
      // A sentinel fails once, so only a later retry pass, which re-reads every entry still
      // pending, oldest first, can succeed with it.
      if (entry.type === "work.sentinel" && calls.get(id) === 1) throw new Error("fails once");
    }, { maxDeliveries: 3, claimIdleMs: 100 });
    const [poison, good] = await add(2);
    await waitFor(async () => calls.has(good!) && calls.has(poison!) && (await pendingCount()) === 0, 15_000, "poisoned entry to be dropped");
    expect(calls.get(good!)).toBe(1);
    expect(calls.get(poison!)).toBe(3);
    const sentinel = await addSentinel();
    await waitFor(async () => calls.get(sentinel) === 2 && (await pendingCount()) === 0, 10_000, "sentinel retried");
    expect(calls.get(poison!)).toBe(3); // dropped: not delivered again by the retry pass
  });

  it("never drops an entry whose handler fails transiently, and keeps the stream order while it waits", async () => {
    let outage = true;
    const handled: string[] = [];
    let failures = 0;
    startConsumer("c1", async (_entry, id) => {
      if (outage) {
        failures++;
        throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:3306"), { code: "ECONNREFUSED" });
      }
      handled.push(id);
    }, { maxDeliveries: 2, claimIdleMs: 100, isTransient: (err) => (err as { code?: string }).code === "ECONNREFUSED" });
    const ids = await add(3);
    // Well past maxDeliveries: an outage must not turn entries into poison.
    await waitFor(() => failures >= 5, 15_000, "repeated transient failures");
    expect(handled).toEqual([]);
    expect(await pendingCount()).toBeGreaterThan(0);
    outage = false;
    await waitFor(async () => handled.length === 3 && (await pendingCount()) === 0, 10_000, "entries handled after the outage");
    expect(handled).toEqual(ids);
  });

  it("acks and skips a malformed entry without calling the handler", async () => {
    const handled: string[] = [];
    startConsumer("c1", async (_entry, id) => void handled.push(id));
    await admin.xadd(stream, "*", "data", "{}"); // no type, no version
    const [good] = await add(1);
    await waitFor(() => handled.length === 1, 5000, "good entry");
    expect(handled).toEqual([good]);
    await waitFor(async () => (await pendingCount()) === 0, 5000, "malformed entry acked");
  });

  it("gives each entry to exactly one of two consumers in one group", async () => {
    const handled: { consumer: string; id: string }[] = [];
    const slow = (consumer: string) => async (_entry: StreamEntry, id: string) => {
      handled.push({ consumer, id });
      await new Promise((r) => setTimeout(r, 2));
    };
    startConsumer("c1", slow("c1"), { batch: 5 });
    startConsumer("c2", slow("c2"), { batch: 5 });
    // Let both join before writing, so both take part.
    await waitFor(async () => ((await admin.xinfo("CONSUMERS", stream, GROUP).catch(() => [])) as unknown[]).length === 2, 5000, "both consumers");
    const ids = await add(60);
    await waitFor(async () => handled.length >= 60 && (await pendingCount()) === 0, 10_000, "all entries");
    // Sentinels until each consumer has handled one: each has read again after the 60, so a
    // duplicate from either would be in by then.
    const sentinels = new Set<string>();
    await waitFor(async () => {
      sentinels.add(await addSentinel());
      await waitFor(() => handled.filter((h) => sentinels.has(h.id)).length === sentinels.size, 5000, "sentinel handled");
      return new Set(handled.filter((h) => sentinels.has(h.id)).map((h) => h.consumer)).size === 2;
    }, 10_000, "a sentinel handled by each consumer");
    expect(handled.filter((h) => !sentinels.has(h.id)).map((h) => h.id).sort()).toEqual([...ids].sort());
    expect(new Set(handled.map((h) => h.consumer))).toEqual(new Set(["c1", "c2"]));
  });

  it("reads entries written before the group existed", async () => {
    const ids = await add(3);
    const handled: string[] = [];
    startConsumer("c1", async (_entry, id) => void handled.push(id));
    await waitFor(() => handled.length === 3, 5000, "history");
    expect(handled).toEqual(ids);
  });

  it("stops when its signal aborts", async () => {
    const { controller, done } = startConsumer("c1", async () => undefined);
    await add(1);
    controller.abort();
    await expect(Promise.race([done.then(() => "stopped"), new Promise((r) => setTimeout(() => r("still running"), 2000))])).resolves.toBe("stopped");
  });
});
