import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "@labbridge/logging";
import { outputsDigest } from "@labbridge/protocol";
import { createContext, type ServiceContext } from "@labbridge/runtime";
import { dispatchJob, dispatchPending, handleAgentEvent, Matcher, startScheduler, type RunningScheduler } from "@labbridge/scheduler";
import { finishAttempt } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { createTestEnv, type TestEnv, waitFor } from "../harness/test_env.ts";
import { activeAttempts, onlineAgent, states, submit } from "./matching_fixtures.ts";

// Matching by capacity and fair share (DESIGN.md "Matching", docs/decisions/0015):
// unrunnable jobs never hold back runnable ones, and owners share the agents.

const silent = createLogger("matching-test", "silent");
const T0 = Date.UTC(2025, 0, 1);

let env: TestEnv;
let now: number;
let ctx: ServiceContext;
let scheduler: RunningScheduler | null;

beforeEach(async () => {
  env = await createTestEnv();
  now = T0;
  ctx = createContext("matching-test", env.config, { clock: () => now, log: silent });
  scheduler = null;
});

afterEach(async () => {
  await scheduler?.close();
  await ctx.close();
  await env.cleanup();
});

const succeeded = { outcome: "succeeded" as const, exitCode: 0, error: null, outputs: [] };

/** Ends every active attempt successfully (frees their slots and GPUs). */
async function finishAll(): Promise<void> {
  for (const a of await activeAttempts(ctx.pool)) {
    await finishAttempt(ctx.pool, { jobId: a.job_id, attemptId: a.id, agentId: a.agent_id, result: succeeded, now: new Date(now) });
  }
}

/** Owner of the job of each active attempt, in assignment order. */
async function activeOwners(): Promise<string[]> {
  const [rows] = await ctx.pool.query(
    "SELECT j.owner FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE a.state IN ('ASSIGNED','RUNNING') ORDER BY a.assigned_at, a.id",
  );
  return (rows as { owner: string }[]).map((r) => r.owner);
}

describe("matching by capacity", () => {
  it("with 1,000 unrunnable jobs ahead, a runnable job is assigned within 1 s of a slot freeing", async () => {
    const agentId = await onlineAgent(ctx.pool, { now, slots: 1, os: "linux" });
    const busy = await submit(ctx.pool, "alice", now++);
    const held = (await dispatchJob(ctx, busy))!;
    // Three ways to be unrunnable here: a label nobody has, GPUs the agent lacks, another OS.
    const unrunnable: string[] = [];
    for (let i = 0; i < 1000; i += 25) {
      unrunnable.push(...await Promise.all(Array.from({ length: 25 }, (_, k) => {
        const n = i + k;
        const requirements = n % 3 === 0 ? { labels: { rack: `r${n}` } } : n % 3 === 1 ? { gpus: 2 } : { os: "windows" };
        return submit(ctx.pool, "alice", T0 + 10 + n, { requirements });
      })));
    }
    const runnable = await submit(ctx.pool, "alice", T0 + 5000, { requirements: { os: "linux" } });
    scheduler = startScheduler(env.config, { log: silent, consumer: "s1" });

    const freedAt = Date.now();
    await appendEntry(ctx.redis, ctx.streams.agentEvents, {
      type: "attempt.succeeded", job_id: busy, attempt_id: held.attemptId, agent_id: agentId,
      data: { exit_code: 0, output_count: 0, outputs_digest: await outputsDigest([]) },
    });
    await waitFor(async () => (await states(ctx.pool, [runnable])).get(runnable) === "ASSIGNED", 5000, "the runnable job assigned");
    expect(Date.now() - freedAt).toBeLessThan(1000);
    const after = await states(ctx.pool, [busy, ...unrunnable]);
    expect(after.get(busy)).toBe("SUCCEEDED");
    expect([...after.values()].filter((s) => s === "PENDING")).toHaveLength(1000);
  });

  it("jobs only a busy agent could run do not keep a free agent from the next job", async () => {
    const big = await onlineAgent(ctx.pool, { now, slots: 1, labels: { size: "big" } });
    await onlineAgent(ctx.pool, { now, slots: 1 });
    await dispatchJob(ctx, await submit(ctx.pool, "alice", now++, { requirements: { labels: { size: "big" } } }));
    const waitForBig: string[] = [];
    for (let i = 0; i < 12; i++) waitForBig.push(await submit(ctx.pool, "alice", now++, { requirements: { labels: { size: "big" } } }));
    const any = await submit(ctx.pool, "alice", now++);
    expect(await dispatchPending(ctx)).toBe(1);
    const s = await states(ctx.pool, [...waitForBig, any]);
    expect(s.get(any)).toBe("ASSIGNED");
    expect(waitForBig.map((id) => s.get(id))).toEqual(waitForBig.map(() => "PENDING"));
    expect((await activeAttempts(ctx.pool)).filter((a) => a.agent_id === big)).toHaveLength(1);
  });
});

describe("batches", () => {
  it("one pass assigns every job the free slots can take: 500 jobs over 10 agents", async () => {
    const agents: string[] = [];
    for (let i = 0; i < 10; i++) agents.push(await onlineAgent(ctx.pool, { now, slots: 50 }));
    const jobs: string[] = [];
    for (let i = 0; i < 500; i += 50) jobs.push(...await Promise.all(Array.from({ length: 50 }, (_, k) => submit(ctx.pool, `owner${k % 4}`, T0 + i + k))));
    expect(await dispatchPending(ctx)).toBe(500);
    const perAgent = new Map<string, number>();
    for (const a of await activeAttempts(ctx.pool)) perAgent.set(a.agent_id, (perAgent.get(a.agent_id) ?? 0) + 1);
    expect([...perAgent.values()]).toEqual(agents.map(() => 50));
  });

  it("wake-ups during a pass share one following pass", async () => {
    await onlineAgent(ctx.pool, { now, slots: 5 });
    for (let i = 0; i < 5; i++) await submit(ctx.pool, "alice", now++);
    const matcher = new Matcher(ctx);
    const calls = Array.from({ length: 50 }, () => matcher.run());
    // The first call starts a pass; the other 49 wait for the one pass after it.
    expect(new Set(calls).size).toBe(2);
    expect(await Promise.all(calls)).toEqual([5, ...Array.from({ length: 49 }, () => 0)]);
    await matcher.close();
  });
});

describe("wake-ups", () => {
  it("more slots on an agent (agent.updated) are filled from the queue at once", async () => {
    const agentId = await onlineAgent(ctx.pool, { now, slots: 1 });
    const jobs = [await submit(ctx.pool, "alice", now++), await submit(ctx.pool, "alice", now++), await submit(ctx.pool, "alice", now++)];
    expect(await dispatchPending(ctx)).toBe(1);
    await ctx.pool.execute("UPDATE agents SET slots = 3 WHERE id = ?", [agentId]);
    await handleAgentEvent(ctx, { type: "agent.updated", v: 1, agent_id: agentId, ts: new Date(now).toISOString(), data: {} });
    expect([...(await states(ctx.pool, jobs)).values()]).toEqual(["ASSIGNED", "ASSIGNED", "ASSIGNED"]);
  });
});

describe("fair share", () => {
  it("owner B's one job is among the first 2 assignments while owner A has 500 queued ahead of it", async () => {
    await onlineAgent(ctx.pool, { now, slots: 1 });
    for (let i = 0; i < 500; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, k) => submit(ctx.pool, "alice", T0 + i + k)));
    }
    await submit(ctx.pool, "bob", T0 + 1000);
    now = T0 + 2000;
    const order: string[] = [];
    for (let i = 0; i < 2; i++) {
      expect(await dispatchPending(ctx)).toBe(1);
      order.push(...await activeOwners());
      await finishAll();
      now += 1000;
    }
    expect(order).toContain("bob");
  });

  it("the owner whose last assignment is oldest goes first, so owners take turns", async () => {
    await onlineAgent(ctx.pool, { now, slots: 1 });
    for (const owner of ["alice", "bob", "carol"]) for (let i = 0; i < 3; i++) await submit(ctx.pool, owner, now++);
    // bob was served most recently, alice before him; carol never: carol, alice, bob, carol, …
    await ctx.pool.query("INSERT INTO owner_usage (owner, last_assigned_at) VALUES ('alice', ?), ('bob', ?)", [new Date(T0 - 2000), new Date(T0 - 1000)]);
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      now += 1000;
      expect(await dispatchPending(ctx)).toBe(1);
      order.push(...await activeOwners());
      await finishAll();
    }
    expect(order).toEqual(["carol", "alice", "bob", "carol", "alice", "bob"]);
  });

  it("one pass over several free slots hands them out in turn between owners", async () => {
    await onlineAgent(ctx.pool, { now, slots: 4 });
    for (let i = 0; i < 10; i++) await submit(ctx.pool, "alice", now++);
    for (let i = 0; i < 10; i++) await submit(ctx.pool, "bob", now++);
    expect(await dispatchPending(ctx)).toBe(4);
    expect((await activeOwners()).sort()).toEqual(["alice", "alice", "bob", "bob"]);
  });

  it("within one owner, higher priority goes first, then the older job", async () => {
    await onlineAgent(ctx.pool, { now, slots: 1 });
    const low = await submit(ctx.pool, "alice", now++, {}, -5);
    const oldNormal = await submit(ctx.pool, "alice", now++);
    const high = await submit(ctx.pool, "alice", now++, {}, 7);
    const newNormal = await submit(ctx.pool, "alice", now++);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      now += 1000;
      expect(await dispatchPending(ctx)).toBe(1);
      order.push(...(await activeAttempts(ctx.pool)).map((a) => a.job_id));
      await finishAll();
    }
    expect(order).toEqual([high, oldNormal, newNormal, low]);
  });
});
