import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "@labbridge/logging";
import { checkJobSpec, type StreamEntry } from "@labbridge/protocol";
import { createContext, type ServiceContext } from "@labbridge/runtime";
import { dispatchJob, dispatchPending, handleAgentEvent } from "@labbridge/scheduler";
import { createEnrollmentToken, createJob, enrollAgent, getJob, markAgentOnline, requestCancel } from "@labbridge/store";
import { createTestEnv, type TestEnv, streamEntries } from "../harness/test_env.ts";

// The scheduler's dispatch called directly with an injected clock: what an assignment
// writes to MySQL, Redis and the agent's gateway stream.

const silent = createLogger("scheduler-test", "silent");
const T0 = Date.UTC(2025, 0, 1);

let env: TestEnv;
let now: number;
let ctx: ServiceContext;

beforeEach(async () => {
  env = await createTestEnv();
  now = T0;
  ctx = createContext("scheduler-test", env.config, { clock: () => now, log: silent });
});

afterEach(async () => {
  await ctx.close();
  await env.cleanup();
});

async function onlineAgent(gatewayId = "gw-a", slots = 1): Promise<string> {
  const { token } = await createEnrollmentToken(ctx.pool, { createdBy: "admin", ttlSeconds: 600, labels: {}, now: new Date(now) });
  const { agentId } = (await enrollAgent(ctx.pool, { token, name: "ws", hostname: "ws", os: "linux", labels: {}, now: new Date(now) }))!;
  await markAgentOnline(ctx.pool, { agentId, gatewayId, sessionId: `ses_${agentId}`, hostname: "ws", gpus: [], at: new Date(now) });
  await ctx.pool.execute("UPDATE agents SET slots = ? WHERE id = ?", [slots, agentId]);
  return agentId;
}

async function newJob(body: Record<string, unknown> = {}): Promise<string> {
  const checked = checkJobSpec({ command: ["python", "train.py"], ...body });
  if (!checked.ok) throw new Error("bad spec");
  const { job } = await createJob(ctx.pool, { owner: "alice", spec: checked.value, idempotencyKey: null, now: new Date(now) });
  now += 1;
  return job.id;
}

const entries = (stream: string) => streamEntries(ctx.redis, stream);

describe("dispatch", () => {
  it("an assignment grants a lease of one TTL and sends attempt.assign to the agent's own gateway stream", async () => {
    const agentId = await onlineAgent("gw-b");
    const jobId = await newJob({ env: { A: "1" }, inputs: [{ key: "inputs/u/d.zip", path: "d.zip" }], timeout_seconds: 60 });
    const a = (await dispatchJob(ctx, jobId))!;
    expect(a).toMatchObject({ jobId, agentId, gatewayId: "gw-b" });
    expect(await ctx.leases.get(a.attemptId)).toEqual({ attemptId: a.attemptId, agentId, jobId, started: false, expiresAt: now + env.config.leaseTtlSeconds * 1000 });
    const [cmd] = await entries(`${env.config.prefix}:gw:gw-b`);
    expect(cmd).toMatchObject({ type: "attempt.assign", v: "1", job_id: jobId, attempt_id: a.attemptId, agent_id: agentId });
    // `gpus: []`: a job that asked for no GPU is given none (the agent hides them from it).
    expect(JSON.parse(cmd!.data!)).toEqual({ command: ["python", "train.py"], env: { A: "1" }, inputs: [{ key: "inputs/u/d.zip", path: "d.zip" }], timeout_seconds: 60, gpus: [] });
    expect(await entries(`${env.config.prefix}:gw:gw-a`)).toEqual([]);
  });

  it("publishes the assignment on job-events", async () => {
    await onlineAgent();
    const jobId = await newJob();
    const a = (await dispatchJob(ctx, jobId))!;
    const [event] = await entries(ctx.streams.jobEvents);
    expect(event).toMatchObject({ type: "job.state_changed", job_id: jobId, attempt_id: a.attemptId, ts: new Date(now).toISOString() });
    expect(JSON.parse(event!.data!)).toEqual({ from: "PENDING", to: "ASSIGNED", cause: "assigned" });
  });

  it("a job dispatched twice is assigned once", async () => {
    await onlineAgent("gw-a", 2);
    const jobId = await newJob();
    const results = await Promise.all([dispatchJob(ctx, jobId), dispatchJob(ctx, jobId)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await getJob(ctx.pool, jobId))?.attempts).toHaveLength(1);
    expect(await entries(`${env.config.prefix}:gw:gw-a`)).toHaveLength(1);
  });

  it("the PENDING sweep assigns the oldest jobs while slots last and cancels the ones wanted canceled", async () => {
    await onlineAgent("gw-a", 2);
    const [oldest, wanted, second, third] = [await newJob(), await newJob(), await newJob(), await newJob()];
    await requestCancel(ctx.pool, wanted!, new Date(now));
    expect(await dispatchPending(ctx)).toBe(2);
    const states = await Promise.all([oldest, wanted, second, third].map(async (id) => (await getJob(ctx.pool, id!))?.state));
    expect(states).toEqual(["ASSIGNED", "CANCELED", "ASSIGNED", "PENDING"]);
  });

  it("dispatches nothing when no agent is online", async () => {
    const jobId = await newJob();
    expect(await dispatchJob(ctx, jobId)).toBeNull();
    expect(await dispatchPending(ctx)).toBe(0);
    expect((await getJob(ctx.pool, jobId))?.state).toBe("PENDING");
  });
});

describe("agent.online", () => {
  it("sends an agent's unstarted assignment again through the gateway it reconnected to", async () => {
    const agentId = await onlineAgent("gw-a");
    const jobId = await newJob({ timeout_seconds: 60 });
    const a = (await dispatchJob(ctx, jobId))!;
    const online: StreamEntry = {
      type: "agent.online", v: 1, agent_id: agentId, ts: new Date(now).toISOString(),
      data: { gateway_id: "gw-b", session_id: "ses_2", os: "linux", hostname: "ws", gpus: [], connected_since: now },
    };
    await handleAgentEvent(ctx, online);
    const [cmd] = await entries(`${env.config.prefix}:gw:gw-b`);
    expect(cmd).toMatchObject({ type: "attempt.assign", job_id: jobId, attempt_id: a.attemptId, agent_id: agentId });
    expect(JSON.parse(cmd!.data!)).toMatchObject({ command: ["python", "train.py"], timeout_seconds: 60 });
    // A started attempt is not sent again: the agent re-announces it in hello instead.
    await ctx.pool.execute("UPDATE attempts SET state = 'RUNNING' WHERE id = ?", [a.attemptId]);
    await ctx.pool.execute("UPDATE jobs SET state = 'RUNNING' WHERE id = ?", [jobId]);
    await handleAgentEvent(ctx, { ...online, data: { ...online.data, gateway_id: "gw-c" } });
    expect(await entries(`${env.config.prefix}:gw:gw-c`)).toEqual([]);
  });
});
