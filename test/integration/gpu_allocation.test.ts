import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "@labbridge/logging";
import type { StreamEntry } from "@labbridge/protocol";
import { createContext, type ServiceContext } from "@labbridge/runtime";
import { dispatchJob, dispatchPending, handleAgentEvent } from "@labbridge/scheduler";
import { grantLeases } from "@labbridge/scheduler";
import {
  cancelJob, commitAssignments, expireAttempt, finishAttempt, freeAgents, pendingCandidates, pendingClasses, planMatches, requestCancel,
} from "@labbridge/store";
import { createTestEnv, type TestEnv, streamEntries } from "../harness/test_env.ts";
import { activeAttempts, doubleBookings, gpu, onlineAgent, states, submit } from "./matching_fixtures.ts";

// GPUs as resources: a job asking for N GPUs gets N whole GPUs of one agent that no other
// attempt holds, named in its assignment, and released whichever way the attempt ends.

const silent = createLogger("gpu-test", "silent");
const T0 = Date.UTC(2025, 0, 1);

let env: TestEnv;
let now: number;
let ctx: ServiceContext;
const contexts: ServiceContext[] = [];

function context(): ServiceContext {
  const c = createContext("gpu-test", env.config, { clock: () => now, log: silent });
  contexts.push(c);
  return c;
}

beforeEach(async () => {
  env = await createTestEnv();
  now = T0;
  ctx = context();
});

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
  await env.cleanup();
});

/**
 * A scheduler that read the queue from the other end: it plans other jobs than the
 * matcher would for the same free capacity, then commits them. Only the commit's fence
 * keeps it and a concurrent pass from both taking the last slot or the same GPU.
 */
async function commitReversedPlan(s: ServiceContext): Promise<number> {
  const agents = await freeAgents(s.pool);
  const classes = await pendingClasses(s.pool);
  const candidates = (await pendingCandidates(s.pool, classes.map((c) => c.reqClass), 1000)).reverse();
  const plan = planMatches({ agents, candidates, needs: new Map(classes.map((c) => [c.reqClass, c.needs])), lastUse: new Map(), now });
  const done = await commitAssignments(s.pool, { matches: plan, now: new Date(now), grantLeases: (g) => grantLeases(s, g, now) });
  return done.length;
}

const succeeded = { outcome: "succeeded" as const, exitCode: 0, error: null, outputs: [] };

/** `gpus` of each attempt.assign command on the gateway stream, by job id. */
async function assignedGpus(gatewayId = "gw-a"): Promise<Map<string, { index: number; uuid?: string }[]>> {
  const cmds = await streamEntries(ctx.redis, ctx.streams.gateway(gatewayId));
  return new Map(cmds.filter((c) => c.type === "attempt.assign").map((c) => [c.job_id!, JSON.parse(c.data!).gpus]));
}

async function freeGpuIndices(agentId: string): Promise<number[]> {
  const agent = (await freeAgents(ctx.pool)).find((a) => a.id === agentId);
  return (agent?.freeGpus ?? []).map((g) => g.index).sort();
}

describe("GPU allocation", () => {
  it("gpus: 1 jobs on a 2-GPU agent run two at a time, each with its own GPU, and a third waits for one to free", async () => {
    const gpus = [gpu(0), gpu(1)];
    const agentId = await onlineAgent(ctx.pool, { now, slots: 3, gpus });
    const jobs = [await submit(ctx.pool, "alice", now++, { requirements: { gpus: 1 } }), await submit(ctx.pool, "alice", now++, { requirements: { gpus: 1 } }),
      await submit(ctx.pool, "alice", now++, { requirements: { gpus: 1 } })];
    expect(await dispatchPending(ctx)).toBe(2);
    const given = await assignedGpus();
    const first = given.get(jobs[0]!)!;
    const second = given.get(jobs[1]!)!;
    expect([first[0]!.index, second[0]!.index].sort()).toEqual([0, 1]);
    // The uuid travels too: CUDA_VISIBLE_DEVICES names GPUs by uuid where the agent reported one.
    for (const g of [...first, ...second]) expect(g.uuid).toBe(gpus[g.index]!.uuid);
    expect((await states(ctx.pool, jobs)).get(jobs[2]!)).toBe("PENDING");

    const holder = (await activeAttempts(ctx.pool)).find((a) => a.job_id === jobs[1])!;
    await finishAttempt(ctx.pool, { jobId: holder.job_id, attemptId: holder.id, agentId, result: succeeded, now: new Date(now) });
    expect(await dispatchPending(ctx)).toBe(1);
    expect((await assignedGpus()).get(jobs[2]!)).toEqual(second);
  });

  it("a job gets only GPUs with enough memory and the name it asks for, and waits while none is free", async () => {
    const agentId = await onlineAgent(ctx.pool, { now, slots: 4, gpus: [gpu(0, "NVIDIA GeForce RTX 3060", 12288), gpu(1, "NVIDIA GeForce RTX 4090", 24564)] });
    const big = await submit(ctx.pool, "alice", now++, { requirements: { gpus: 1, gpu_memory_mb: 20000 } });
    const named = await submit(ctx.pool, "alice", now++, { requirements: { gpus: 1, gpu_name: "4090" } });
    const two = await submit(ctx.pool, "alice", now++, { requirements: { gpus: 2 } });
    const none = await submit(ctx.pool, "alice", now++);
    expect(await dispatchPending(ctx)).toBe(2);
    const s = await states(ctx.pool, [big, named, two, none]);
    expect([s.get(big), s.get(named), s.get(two), s.get(none)]).toEqual(["ASSIGNED", "PENDING", "PENDING", "ASSIGNED"]);
    expect((await assignedGpus()).get(big)!.map((g) => g.index)).toEqual([1]);
    expect((await assignedGpus()).get(none)).toEqual([]);
    expect(await freeGpuIndices(agentId)).toEqual([0]);
  });

  it("a job's GPUs are free again however its attempt ends: finished, expired, canceled, requeued", async () => {
    const agentId = await onlineAgent(ctx.pool, { now, slots: 2, gpus: [gpu(0), gpu(1)] });
    const both = { requirements: { gpus: 2 } };
    const holdBoth = async (body: Record<string, unknown> = both) => {
      const jobId = await submit(ctx.pool, "alice", now++, body);
      const a = (await dispatchJob(ctx, jobId))!;
      expect(a.gpus.map((g) => g.index)).toEqual([0, 1]);
      expect(await freeGpuIndices(agentId)).toEqual([]);
      return a;
    };
    let a = await holdBoth();
    await finishAttempt(ctx.pool, { jobId: a.jobId, attemptId: a.attemptId, agentId, result: succeeded, now: new Date(now) });
    expect(await freeGpuIndices(agentId)).toEqual([0, 1]);

    a = await holdBoth();
    await expireAttempt(ctx.pool, { jobId: a.jobId, attemptId: a.attemptId, leaseStarted: false, now: new Date(now) });
    expect(await freeGpuIndices(agentId)).toEqual([0, 1]);
    await requestCancel(ctx.pool, a.jobId, new Date(now)); // the requeued job must not take them back below

    a = await holdBoth();
    await requestCancel(ctx.pool, a.jobId, new Date(now));
    await cancelJob(ctx.pool, { jobId: a.jobId, now: new Date(now), revokeUnstartedLease: (id) => ctx.leases.revokeUnstarted(id) });
    expect(await freeGpuIndices(agentId)).toEqual([0, 1]);

    a = await holdBoth({ ...both, max_attempts: 2 });
    const stopped = { outcome: "failed" as const, exitCode: null, error: { code: "agent_stopped" as const, message: "stopping" }, outputs: [] };
    await finishAttempt(ctx.pool, { jobId: a.jobId, attemptId: a.attemptId, agentId, result: stopped, now: new Date(now) });
    expect((await states(ctx.pool, [a.jobId])).get(a.jobId)).toBe("PENDING");
    expect(await freeGpuIndices(agentId)).toEqual([0, 1]);
  });

  it("an unstarted assignment sent again after a reconnect names the same GPUs", async () => {
    const gpus = [gpu(0), gpu(1)];
    const agentId = await onlineAgent(ctx.pool, { now, slots: 1, gpus });
    const jobId = await submit(ctx.pool, "alice", now++, { requirements: { gpus: 1 } });
    const a = (await dispatchJob(ctx, jobId))!;
    expect(a.gpus).toEqual([{ index: 0, uuid: gpus[0]!.uuid }]);
    const online: StreamEntry = {
      type: "agent.online", v: 1, agent_id: agentId, ts: new Date(now).toISOString(),
      data: { gateway_id: "gw-b", session_id: "ses_2", hostname: "ws", gpus, connected_since: now },
    };
    await handleAgentEvent(ctx, online);
    expect((await assignedGpus("gw-b")).get(jobId)).toEqual(a.gpus);
  });

  it("two schedulers racing over 1,000 jobs and 20 agents never double-book a slot or a GPU", async () => {
    const agents: string[] = [];
    for (let i = 0; i < 20; i++) agents.push(await onlineAgent(ctx.pool, { now, slots: 3, gpus: [gpu(0), gpu(1)] }));
    const jobs: string[] = [];
    for (let i = 0; i < 1000; i += 50) {
      jobs.push(...await Promise.all(Array.from({ length: 50 }, (_, k) => {
        const n = i + k;
        const requirements = n % 4 === 0 ? { gpus: 1 } : n % 4 === 1 ? { gpus: 2 } : {};
        return submit(ctx.pool, ["alice", "bob", "carol"][n % 3]!, T0 + n, { requirements });
      })));
    }
    const schedulers = [context(), context()];
    let assigned = 0;
    for (let round = 0; round < 80 && assigned < jobs.length; round++) {
      now += 1000;
      const counts = await Promise.all(schedulers.flatMap((s) => [dispatchPending(s), commitReversedPlan(s)]));
      assigned += counts.reduce((x, y) => x + y, 0);
      expect(await doubleBookings(ctx.pool), `round ${round}`).toEqual([]);
      const active = await activeAttempts(ctx.pool);
      expect(active.length, `round ${round}: every slot or GPU in use`).toBeGreaterThan(0);
      for (const a of active) await finishAttempt(ctx.pool, { jobId: a.job_id, attemptId: a.id, agentId: a.agent_id, result: succeeded, now: new Date(now) });
    }
    expect(assigned).toBe(jobs.length);
    const [rows] = await ctx.pool.query("SELECT COUNT(*) AS n FROM attempts");
    expect(Number((rows as { n: number }[])[0]!.n)).toBe(jobs.length);
    expect([...(await states(ctx.pool, jobs)).values()].every((s) => s === "SUCCEEDED")).toBe(true);
  }, 120_000);
});
