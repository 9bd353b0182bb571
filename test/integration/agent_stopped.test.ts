import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reapExpiredLeases } from "@labbridge/lease-reaper";
import { createLogger } from "@labbridge/logging";
import { checkJobSpec, type StreamEntry } from "@labbridge/protocol";
import { createContext, type ServiceContext } from "@labbridge/runtime";
import { dispatchJob, handleAgentEvent } from "@labbridge/scheduler";
import { createEnrollmentToken, createJob, enrollAgent, getJob, markAgentOnline, requestCancel } from "@labbridge/store";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// What the scheduler makes of a stopping agent's reports (failed / agent_stopped), with an
// injected clock against real MySQL and Redis: a started attempt is FAILED (or re-queued
// when max_attempts allows), and an assignment whose lease never started is released for
// the reaper to hand back, since nothing ran.

const silent = createLogger("agent-stopped-test", "silent");
const T0 = Date.UTC(2025, 0, 1);

let env: TestEnv;
let now: number;
let ctx: ServiceContext;

beforeEach(async () => {
  env = await createTestEnv();
  now = T0;
  ctx = createContext("agent-stopped-test", env.config, { clock: () => now, log: silent });
});

afterEach(async () => {
  await ctx.close();
  await env.cleanup();
});

async function onlineAgent(): Promise<string> {
  const { token } = await createEnrollmentToken(ctx.pool, { createdBy: "admin", ttlSeconds: 600, labels: {}, now: new Date(now) });
  const { agentId } = (await enrollAgent(ctx.pool, { token, name: "ws", hostname: "ws", os: "linux", labels: {}, now: new Date(now) }))!;
  await markAgentOnline(ctx.pool, { agentId, gatewayId: "gw-a", sessionId: `ses_${agentId}`, hostname: "ws", gpus: [], at: new Date(now) });
  return agentId;
}

async function newJob(body: Record<string, unknown> = {}): Promise<string> {
  const checked = checkJobSpec({ command: ["python", "train.py"], ...body });
  if (!checked.ok) throw new Error("bad spec");
  const { job } = await createJob(ctx.pool, { owner: "alice", spec: checked.value, idempotencyKey: null, now: new Date(now) });
  now += 1;
  return job.id;
}

function event(type: string, agentId: string, jobId: string, attemptId: string, data: Record<string, unknown> = {}): StreamEntry {
  return { type, v: 1, agent_id: agentId, job_id: jobId, attempt_id: attemptId, ts: new Date(now).toISOString(), data };
}

/** The gateway's entry for an agent_stopped report, sent through the agent's current session unless `sessionId` says otherwise. */
const stopped = (agentId: string, jobId: string, attemptId: string, message = "agent stopped while the job ran", sessionId = `ses_${agentId}`) =>
  event("attempt.failed", agentId, jobId, attemptId, { exit_code: null, error: { code: "agent_stopped", message }, outputs: [], session_id: sessionId });

async function agentStatus(agentId: string): Promise<string> {
  const [rows] = await ctx.pool.execute("SELECT status FROM agents WHERE id = ?", [agentId]);
  return (rows as { status: string }[])[0]!.status;
}

/** Dispatches the job to the agent and starts it as the gateway and scheduler would. */
async function started(agentId: string, jobId: string): Promise<string> {
  const { attemptId } = (await dispatchJob(ctx, jobId))!;
  expect(await ctx.leases.markStarted(attemptId, agentId, now, now + 30_000)).toBe("granted");
  await handleAgentEvent(ctx, event("attempt.started", agentId, jobId, attemptId));
  now += 1000;
  return attemptId;
}

describe("a stopping agent's agent_stopped report", () => {
  it("fails a started attempt with cause agent_stopped and runs nothing again when max_attempts is 1", async () => {
    const agentId = await onlineAgent();
    const jobId = await newJob();
    const attemptId = await started(agentId, jobId);
    await handleAgentEvent(ctx, stopped(agentId, jobId, attemptId));
    const job = (await getJob(ctx.pool, jobId))!;
    expect(job.state).toBe("FAILED");
    expect(job.attempts).toHaveLength(1);
    expect(job.attempts[0]).toMatchObject({ id: attemptId, state: "FAILED", error: { code: "agent_stopped" } });
    expect(job.history.at(-1)?.cause).toBe("agent_stopped");
    expect(await ctx.leases.get(attemptId)).toBeNull();
    // The same report again (the agent re-sends until acknowledged) changes nothing.
    await handleAgentEvent(ctx, stopped(agentId, jobId, attemptId));
    expect(await getJob(ctx.pool, jobId)).toEqual(job);
  });

  it("puts a started attempt's job back to PENDING when max_attempts allows another run", async () => {
    const agentId = await onlineAgent();
    const jobId = await newJob({ max_attempts: 2 });
    const attemptId = await started(agentId, jobId);
    await handleAgentEvent(ctx, stopped(agentId, jobId, attemptId));
    const job = (await getJob(ctx.pool, jobId))!;
    // PENDING, not handed straight back to the agent that is going away (it has a free slot now).
    expect(job.state).toBe("PENDING");
    expect(await agentStatus(agentId)).toBe("OFFLINE");
    expect(job.attempts).toEqual([expect.objectContaining({ id: attemptId, state: "FAILED", error: expect.objectContaining({ code: "agent_stopped" }) })]);
    expect(job.history.at(-1)?.cause).toBe("requeued");
  });

  it("ends a job that was wanted canceled CANCELED, not FAILED", async () => {
    const agentId = await onlineAgent();
    const jobId = await newJob();
    const attemptId = await started(agentId, jobId);
    await requestCancel(ctx.pool, jobId, new Date(now));
    await handleAgentEvent(ctx, stopped(agentId, jobId, attemptId));
    const job = (await getJob(ctx.pool, jobId))!;
    expect(job.state).toBe("CANCELED");
    expect(job.attempts[0]).toMatchObject({ state: "FAILED", error: { code: "agent_stopped" } });
  });

  it("releases an assignment whose lease never started: the reaper hands the job back at once, not a lease later", async () => {
    const agentId = await onlineAgent();
    const jobId = await newJob();
    const { attemptId } = (await dispatchJob(ctx, jobId))!;
    now += 1000;
    await handleAgentEvent(ctx, stopped(agentId, jobId, attemptId, "agent stopped before the job started"));
    // Not failed: nothing ran. The lease now counts as expired, well before its 30 s TTL.
    expect((await getJob(ctx.pool, jobId))!.state).toBe("ASSIGNED");
    const lease = await ctx.leases.get(attemptId);
    expect(lease?.expiresAt).toBeLessThanOrEqual(now);
    await reapExpiredLeases(ctx);
    const job = (await getJob(ctx.pool, jobId))!;
    expect(job.state).toBe("PENDING");
    expect(job.attempts[0]).toMatchObject({ id: attemptId, state: "EXPIRED" });
    expect(job.history.at(-1)?.cause).toBe("lease_expired_before_start");
  });

  it("marks the agent OFFLINE only for the session the report came through", async () => {
    const agentId = await onlineAgent();
    const jobId = await newJob();
    const attemptId = await started(agentId, jobId);
    // The agent reconnected since (a new session, ONLINE again); a report through the old one says nothing about it.
    await markAgentOnline(ctx.pool, { agentId, gatewayId: "gw-b", sessionId: "ses_new", hostname: "ws", gpus: [], at: new Date(now) });
    await handleAgentEvent(ctx, stopped(agentId, jobId, attemptId, "agent stopped while the job ran", `ses_${agentId}`));
    expect(await agentStatus(agentId)).toBe("ONLINE");
    expect((await getJob(ctx.pool, jobId))!.state).toBe("FAILED");
  });

  it("fails an assignment whose lease was started, even though the agent says it stopped first", async () => {
    const agentId = await onlineAgent();
    const jobId = await newJob();
    const { attemptId } = (await dispatchJob(ctx, jobId))!;
    // The start grant crossed the stop: the lease says it may have run, so it is not re-run.
    expect(await ctx.leases.markStarted(attemptId, agentId, now, now + 30_000)).toBe("granted");
    await handleAgentEvent(ctx, stopped(agentId, jobId, attemptId, "agent stopped before the job started"));
    const job = (await getJob(ctx.pool, jobId))!;
    expect(job.state).toBe("FAILED");
    expect(job.attempts[0]).toMatchObject({ state: "FAILED", error: { code: "agent_stopped" } });
  });
});
