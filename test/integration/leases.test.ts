import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { Leases, redisKeys } from "@labbridge/streams";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// The lease scripts on a real Redis, with time passed in explicitly: no test sleeps.

const T0 = 1_700_000_000_000;
const TTL = 30_000;

let env: TestEnv;
let redis: Redis;
let leases: Leases;

beforeEach(async () => {
  env = await createTestEnv();
  redis = new Redis(env.config.redisUrl);
  leases = new Leases(redis, redisKeys(env.config.prefix));
});

afterEach(async () => {
  redis.disconnect();
  await env.cleanup();
});

describe("Leases", () => {
  it("a granted lease records holder, job, unstarted state and expiry", async () => {
    expect(await leases.grant("att_1", "agt_A", "job_1", T0 + TTL)).toBe(true);
    expect(await leases.get("att_1")).toEqual({ attemptId: "att_1", agentId: "agt_A", jobId: "job_1", started: false, expiresAt: T0 + TTL });
  });

  it("granting the same attempt twice keeps the first lease", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    expect(await leases.grant("att_1", "agt_B", "job_1", T0 + 2 * TTL)).toBe(false);
    expect(await leases.get("att_1")).toMatchObject({ agentId: "agt_A", expiresAt: T0 + TTL });
  });

  it("lives in keys under the test prefix's hash tag", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    const keys = redisKeys(env.config.prefix);
    expect(keys.leases.startsWith(`{${env.config.prefix}}:`)).toBe(true);
    expect(await redis.zscore(keys.leases, "att_1")).toBe(String(T0 + TTL));
    expect(await redis.hget(keys.leaseHolders, "att_1")).toBe("agt_A|job_1|0");
  });

  it("extend renews a live lease held by the agent", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    expect(await leases.extend("agt_A", ["att_1"], T0 + 10_000, T0 + 10_000 + TTL)).toEqual([]);
    expect((await leases.get("att_1"))?.expiresAt).toBe(T0 + 10_000 + TTL);
  });

  it("extend never shortens a lease held for longer (a reported result's hold), yet counts it as kept", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    await leases.extend("agt_A", ["att_1"], T0, T0 + 10 * TTL);
    expect(await leases.extend("agt_A", ["att_1"], T0 + 1000, T0 + 1000 + TTL)).toEqual([]);
    expect((await leases.get("att_1"))?.expiresAt).toBe(T0 + 10 * TTL);
  });

  it("expireNow ends the agent's live lease at once, and refuses a lease of another agent or one already dead", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    expect(await leases.expireNow("agt_B", "att_1", T0)).toBe(false);
    expect((await leases.get("att_1"))?.expiresAt).toBe(T0 + TTL);
    expect(await leases.expireNow("agt_A", "att_1", T0)).toBe(true);
    expect((await leases.get("att_1"))?.expiresAt).toBe(T0 - 1);
    expect(await leases.expireNow("agt_A", "att_1", T0)).toBe(false);
  });

  it("extend refuses an expired lease and leaves its expiry alone", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    expect(await leases.extend("agt_A", ["att_1"], T0 + TTL + 1, T0 + 2 * TTL)).toEqual(["att_1"]);
    expect((await leases.get("att_1"))?.expiresAt).toBe(T0 + TTL);
  });

  it("extend refuses a lease held by another agent", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    expect(await leases.extend("agt_B", ["att_1"], T0, T0 + 5 * TTL)).toEqual(["att_1"]);
    expect((await leases.get("att_1"))?.expiresAt).toBe(T0 + TTL);
  });

  it("extend reports unknown attempts as lost and renews the rest", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    expect(await leases.extend("agt_A", ["att_1", "att_gone"], T0, T0 + 2 * TTL)).toEqual(["att_gone"]);
    expect((await leases.get("att_1"))?.expiresAt).toBe(T0 + 2 * TTL);
    expect(await leases.get("att_gone")).toBeNull();
  });

  it("an agent whose id is a prefix of the holder's cannot extend the lease", async () => {
    await leases.grant("att_1", "agt_AB", "job_1", T0 + TTL);
    expect(await leases.extend("agt_A", ["att_1"], T0, T0 + 5 * TTL)).toEqual(["att_1"]);
  });

  it("markStarted grants once, then says already_started, and extends the lease each time", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    expect(await leases.markStarted("att_1", "agt_A", T0 + 1000, T0 + 1000 + TTL)).toBe("granted");
    expect(await leases.get("att_1")).toMatchObject({ started: true, expiresAt: T0 + 1000 + TTL });
    expect(await leases.markStarted("att_1", "agt_A", T0 + 2000, T0 + 2000 + TTL)).toBe("already_started");
    expect(await leases.get("att_1")).toMatchObject({ started: true, expiresAt: T0 + 2000 + TTL });
  });

  it("markStarted refuses an expired lease and leaves it unstarted", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    expect(await leases.markStarted("att_1", "agt_A", T0 + TTL + 1, T0 + 2 * TTL)).toBe("refused");
    expect(await leases.get("att_1")).toMatchObject({ started: false, expiresAt: T0 + TTL });
  });

  it("markStarted refuses another agent and an attempt without a lease", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    expect(await leases.markStarted("att_1", "agt_B", T0, T0 + TTL)).toBe("refused");
    expect(await leases.markStarted("att_none", "agt_A", T0, T0 + TTL)).toBe("refused");
    expect((await leases.get("att_1"))?.started).toBe(false);
  });

  it("revokeUnstarted removes a lease that never started, so a later start is refused", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    expect(await leases.revokeUnstarted("att_1")).toBe(true);
    expect(await leases.get("att_1")).toBeNull();
    expect(await leases.markStarted("att_1", "agt_A", T0, T0 + TTL)).toBe("refused");
  });

  it("revokeUnstarted refuses a started lease and keeps it", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    await leases.markStarted("att_1", "agt_A", T0, T0 + TTL);
    expect(await leases.revokeUnstarted("att_1")).toBe(false);
    expect(await leases.get("att_1")).toMatchObject({ started: true });
  });

  it("revokeUnstarted of a lease that is already gone says the attempt cannot start", async () => {
    expect(await leases.revokeUnstarted("att_missing")).toBe(true);
  });

  it("release removes a lease and can be repeated", async () => {
    await leases.grant("att_1", "agt_A", "job_1", T0 + TTL);
    await leases.release("att_1");
    await leases.release("att_1");
    expect(await leases.get("att_1")).toBeNull();
    expect(await leases.expired(T0 + 10 * TTL, 10)).toEqual([]);
  });

  it("expired lists only leases at or past their expiry, oldest first, up to the limit", async () => {
    await leases.grant("att_late", "agt_A", "job_1", T0 + 3000);
    await leases.grant("att_early", "agt_A", "job_2", T0 + 1000);
    await leases.grant("att_live", "agt_B", "job_3", T0 + 10_000);
    await leases.markStarted("att_late", "agt_A", T0, T0 + 3000);
    expect(await leases.expired(T0, 10)).toEqual([]);
    expect((await leases.expired(T0 + 3000, 10)).map((l) => [l.attemptId, l.started])).toEqual([["att_early", false], ["att_late", true]]);
    expect((await leases.expired(T0 + 3000, 1)).map((l) => l.attemptId)).toEqual(["att_early"]);
  });

  it("expired finishes removing a half-removed lease instead of returning it", async () => {
    const keys = redisKeys(env.config.prefix);
    await redis.zadd(keys.leases, T0, "att_orphan");
    expect(await leases.expired(T0 + 1, 10)).toEqual([]);
    expect(await redis.zscore(keys.leases, "att_orphan")).toBeNull();
  });
});
