import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { AgentTelemetry, Presence, redisKeys, type HeartbeatRenewal } from "@labbridge/streams";
import { HeartbeatBatch } from "../../services/gateway/src/heartbeat_batch.ts";
import type { GpuReading } from "@labbridge/protocol";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// Heartbeats renewed in batches on a real Redis with explicit time (decision 0028): one
// script for many sessions, each entry fenced on its own session exactly as one heartbeat
// alone, each caller answered with its own outcome.

const T0 = 1_700_000_000_000;
const TTL = 30_000;
const IDLE = 15_000;

let env: TestEnv;
let redis: Redis;
let presence: Presence;
let telemetry: AgentTelemetry;

beforeEach(async () => {
  env = await createTestEnv();
  redis = new Redis(env.config.redisUrl);
  const keys = redisKeys(env.config.prefix);
  presence = new Presence(redis, keys);
  telemetry = new AgentTelemetry(redis, keys);
});

afterEach(async () => {
  redis.disconnect();
  await env.cleanup();
});

const beat = (agentId: string, sessionId: string, now: number, host?: number): HeartbeatRenewal => ({
  agentId, sessionId, now, expiresAt: now + 3 * IDLE, intervalMs: IDLE,
  telemetry: host === undefined ? undefined : { replace: false, host: [host, 1, 1, 1] },
});

describe("HeartbeatBatch", () => {
  it("a batch mixing a renewed, a replaced and an expired session gives each its own answer, and renews only the live one", async () => {
    await presence.connect("agt_live", "gw-1", "ses_live", T0, T0 + TTL);
    await presence.connect("agt_moved", "gw-1", "ses_old", T0, T0 + TTL);
    await presence.connect("agt_moved", "gw-2", "ses_new", T0 + 1, T0 + 1 + TTL);
    await presence.connect("agt_dead", "gw-1", "ses_dead", T0, T0 + 1_000);
    const now = T0 + 2_000;
    const batch = new HeartbeatBatch(redis, redisKeys(env.config.prefix), { max: 500, windowMs: 50 });
    // Asked in one turn: one script answers all three.
    const outcomes = await Promise.all([
      batch.renew(beat("agt_live", "ses_live", now, 11)),
      batch.renew(beat("agt_moved", "ses_old", now, 22)),
      batch.renew(beat("agt_dead", "ses_dead", now, 33)),
    ]);
    expect(outcomes).toEqual(["renewed", "replaced", "expired"]);
    expect(await presence.session("agt_live")).toMatchObject({ sessionId: "ses_live", lastSeen: now, intervalMs: IDLE });
    expect(await presence.expired(T0 + TTL, 10)).toEqual([{ agentId: "agt_dead", sessionId: "ses_dead" }]);
    expect(await redis.zscore(redisKeys(env.config.prefix).presence, "agt_live")).toBe(String(now + 3 * IDLE));
    // The session that took over is untouched by the old one's late beat, and so are its readings.
    expect(await presence.session("agt_moved")).toMatchObject({ sessionId: "ses_new", lastSeen: T0 + 1, intervalMs: null });
    expect((await telemetry.read("agt_live"))?.host).toEqual([11, 1, 1, 1]);
    expect(await telemetry.read("agt_moved")).toBeNull();
    expect(await telemetry.read("agt_dead")).toBeNull();
    const ttl = await redis.pttl(redisKeys(env.config.prefix).agentTelemetry("agt_live"));
    expect(ttl).toBeGreaterThan(3 * IDLE - 5_000);
    expect(ttl).toBeLessThanOrEqual(3 * IDLE);
  });

  it("more heartbeats than one batch holds are split, and every one is answered", async () => {
    const agents = Array.from({ length: 7 }, (_, i) => `agt_${i}`);
    for (const a of agents) await presence.connect(a, "gw-1", `ses_${a}`, T0, T0 + TTL);
    const batch = new HeartbeatBatch(redis, redisKeys(env.config.prefix), { max: 3, windowMs: 50 });
    const outcomes = await Promise.all(agents.map((a) => batch.renew(beat(a, `ses_${a}`, T0 + 1_000))));
    expect(outcomes).toEqual(agents.map(() => "renewed"));
    for (const a of agents) expect((await presence.session(a))?.lastSeen).toBe(T0 + 1_000);
  });

  it("a heartbeat carrying a replaced GPU list drops the readings held first, one carrying none only renews them", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    const batch = new HeartbeatBatch(redis, redisKeys(env.config.prefix), { max: 500, windowMs: 1 });
    const gpu = (index: number): GpuReading => [index, 100, 3, 45, null, null];
    await batch.renew({ ...beat("agt_A", "ses_1", T0 + 1), telemetry: { replace: false, gpus: [gpu(0), gpu(1)] } });
    await batch.renew({ ...beat("agt_A", "ses_1", T0 + 2), telemetry: { replace: true, gpus: [gpu(1)] } });
    await batch.renew(beat("agt_A", "ses_1", T0 + 3));
    expect([...(await telemetry.read("agt_A"))!.gpus.keys()]).toEqual([1]);
  });

  it("a failed script fails every heartbeat in it", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    const dead = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    dead.on("error", () => undefined);
    try {
      const batch = new HeartbeatBatch(dead, redisKeys(env.config.prefix), { max: 500, windowMs: 1 });
      const results = await Promise.allSettled([batch.renew(beat("agt_A", "ses_1", T0 + 1)), batch.renew(beat("agt_B", "ses_2", T0 + 1))]);
      expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    } finally {
      dead.disconnect();
    }
  });
});
