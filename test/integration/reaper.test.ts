import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { enforceTimeouts, markSilentAgents, reapExpiredLeases, restoreLostLeases } from "@labbridge/lease-reaper";
import { createLogger } from "@labbridge/logging";
import { checkJobSpec } from "@labbridge/protocol";
import { createContext, type ServiceContext } from "@labbridge/runtime";
import {
  assignJob, createEnrollmentToken, createJob, enrollAgent, getAgentRow, getJob, markAgentOnline, startAttempt,
} from "@labbridge/store";
import { Leases, Presence, redisKeys, type StartGrant } from "@labbridge/streams";
import { createTestEnv, type TestEnv, streamEntries } from "../harness/test_env.ts";

// Single reaper passes with an injected clock: what an expired lease or a silent agent
// turns into in MySQL and on the streams, and that reapers racing apply each move once.

const silent = createLogger("reaper-test", "silent");
const T0 = Date.UTC(2025, 0, 1);
const TTL = 3000; // createTestEnv's LB_LEASE_TTL_SECONDS
const INTERVAL = 500; // createTestEnv's LB_HEARTBEAT_SECONDS

let env: TestEnv;
let now: number;
let ctx: ServiceContext;
const contexts: ServiceContext[] = [];

function context(): ServiceContext {
  const c = createContext("reaper-test", env.config, { clock: () => now, log: silent });
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

async function onlineAgent(sessionId = "ses_1", connect = true): Promise<string> {
  const { token } = await createEnrollmentToken(ctx.pool, { createdBy: "admin", ttlSeconds: 600, labels: {}, now: new Date(now) });
  const { agentId } = (await enrollAgent(ctx.pool, { token, name: "ws", hostname: "ws", os: "linux", labels: {}, now: new Date(now) }))!;
  await markAgentOnline(ctx.pool, { agentId, gatewayId: "gw-t", sessionId, hostname: "ws", gpus: [], at: new Date(now) });
  if (connect) await ctx.presence.connect(agentId, "gw-t", sessionId, now, now + TTL);
  await ctx.pool.execute("UPDATE agents SET slots = 10 WHERE id = ?", [agentId]);
  return agentId;
}

/** A job assigned (lease granted until now + TTL), optionally started. */
async function leasedJob(opts: { started?: boolean; maxAttempts?: number; timeoutSeconds?: number } = {}) {
  const checked = checkJobSpec({ command: ["x"], max_attempts: opts.maxAttempts ?? 1, ...(opts.timeoutSeconds ? { timeout_seconds: opts.timeoutSeconds } : {}) });
  if (!checked.ok) throw new Error("bad spec");
  const { job } = await createJob(ctx.pool, { owner: "alice", spec: checked.value, idempotencyKey: null, now: new Date(now) });
  const a = (await assignJob(ctx.pool, {
    jobId: job.id, now: new Date(now),
    grantLease: async ({ attemptId, agentId }) => void (await ctx.leases.grant(attemptId, agentId, job.id, now + TTL)),
  }))!;
  if (opts.started) {
    await ctx.leases.markStarted(a.attemptId, a.agentId, now, now + TTL);
    await startAttempt(ctx.pool, { jobId: job.id, attemptId: a.attemptId, agentId: a.agentId, now: new Date(now) });
  }
  return { jobId: job.id, attemptId: a.attemptId, agentId: a.agentId };
}

const entries = (stream: string) => streamEntries(ctx.redis, stream);

describe("reapExpiredLeases", () => {
  it("leaves leases that have not expired alone", async () => {
    await onlineAgent();
    const { jobId, attemptId } = await leasedJob();
    now += TTL - 1;
    expect(await reapExpiredLeases(ctx)).toBe(false);
    expect((await getJob(ctx.pool, jobId))?.state).toBe("ASSIGNED");
    expect(await ctx.leases.get(attemptId)).not.toBeNull();
  });

  it("re-queues a never-started assignment, tells the scheduler and the agent, and removes the lease", async () => {
    const agentId = await onlineAgent();
    const { jobId, attemptId } = await leasedJob();
    now += TTL;
    await reapExpiredLeases(ctx);
    expect((await getJob(ctx.pool, jobId))?.state).toBe("PENDING");
    expect(await ctx.leases.get(attemptId)).toBeNull();
    expect(await entries(ctx.streams.jobs)).toEqual([expect.objectContaining({ type: "job.requeued", job_id: jobId })]);
    const events = await entries(ctx.streams.agentEvents);
    expect(events).toEqual([expect.objectContaining({ type: "attempt.expired", job_id: jobId, attempt_id: attemptId, agent_id: agentId })]);
    expect(JSON.parse(events[0]!.data!)).toEqual({ started: false, job_state: "PENDING" });
    const commands = await entries(ctx.streams.gateway("gw-t"));
    expect(commands).toEqual([expect.objectContaining({ type: "attempt.abort", attempt_id: attemptId, agent_id: agentId })]);
    expect(JSON.parse(commands[0]!.data!)).toEqual({ reason: "lease_lost" });
    const jobEvents = await entries(ctx.streams.jobEvents);
    expect(JSON.parse(jobEvents.at(-1)!.data!)).toEqual({ from: "ASSIGNED", to: "PENDING", cause: "lease_expired_before_start" });
  });

  it("fails a started attempt with lease_expired and does not re-queue it", async () => {
    await onlineAgent();
    const { jobId } = await leasedJob({ started: true });
    now += TTL + 1;
    await reapExpiredLeases(ctx);
    expect((await getJob(ctx.pool, jobId))?.history.at(-1)).toMatchObject({ state: "FAILED", cause: "lease_expired" });
    expect((await entries(ctx.streams.jobs)).filter((e) => e.type === "job.requeued")).toEqual([]);
  });

  it("sends no abort when the agent is connected nowhere", async () => {
    await onlineAgent("ses_1", false);
    await leasedJob({ started: true });
    now += TTL;
    await reapExpiredLeases(ctx);
    expect(await ctx.redis.exists(ctx.streams.gateway("gw-t"))).toBe(0);
  });

  // The race of a start with the reaper, made to happen: the gateway read its clock 1 ms
  // before the expiry, and its start script reaches Redis after the reaper's step named.
  const GATEWAY_LAG_MS = 1;

  it("a start granted between the reaper's listing and its claim wins: the attempt stays assigned and started", async () => {
    await onlineAgent();
    const { jobId, attemptId, agentId } = await leasedJob();
    now += TTL; // exactly the lease's expiry, for the reaper
    let grant: StartGrant | null = null;
    class StartAfterListing extends Leases {
      override async expired(at: number, limit: number) {
        const listed = await super.expired(at, limit);
        grant = await this.markStarted(attemptId, agentId, now - GATEWAY_LAG_MS, now - GATEWAY_LAG_MS + TTL);
        return listed;
      }
    }
    await reapExpiredLeases({ ...ctx, leases: new StartAfterListing(ctx.redis, redisKeys(env.config.prefix)) });
    expect(grant).toBe<StartGrant>("granted");
    // Rule 4: once a start was granted, the attempt may have run and must not be handed out again.
    const job = (await getJob(ctx.pool, jobId))!;
    expect(job.state).toBe("ASSIGNED");
    expect(job.history.map((h) => h.cause)).not.toContain("lease_expired_before_start");
    expect(await ctx.leases.get(attemptId)).toMatchObject({ started: true, expiresAt: now - GATEWAY_LAG_MS + TTL });
    expect(await entries(ctx.streams.agentEvents)).toEqual([]);
    expect(await ctx.redis.exists(ctx.streams.gateway("gw-t"))).toBe(0);
  });

  it("a start that reaches Redis just after the reaper claimed the lease is refused, and the attempt is re-queued as never started", async () => {
    const agentId = await onlineAgent();
    const { jobId, attemptId } = await leasedJob();
    now += TTL;
    let grant: StartGrant | null = null;
    class StartAfterClaim extends Leases {
      override async claimExpired(id: string, at: number) {
        const claimed = await super.claimExpired(id, at);
        grant = await this.markStarted(attemptId, agentId, now - GATEWAY_LAG_MS, now - GATEWAY_LAG_MS + TTL);
        return claimed;
      }
    }
    await reapExpiredLeases({ ...ctx, leases: new StartAfterClaim(ctx.redis, redisKeys(env.config.prefix)) });
    expect(grant).toBe<StartGrant>("refused");
    const job = (await getJob(ctx.pool, jobId))!;
    expect(job.state).toBe("PENDING");
    expect(job.history.at(-1)).toMatchObject({ state: "PENDING", cause: "lease_expired_before_start" });
    expect(await ctx.leases.get(attemptId)).toBeNull();
    expect(await entries(ctx.streams.gateway("gw-t"))).toEqual([expect.objectContaining({ type: "attempt.abort", attempt_id: attemptId })]);
  });

  it("several reapers racing over the same expired leases apply each one once", async () => {
    await onlineAgent();
    const jobs = [await leasedJob({ started: true }), await leasedJob(), await leasedJob({ started: true, maxAttempts: 2 })];
    now += TTL;
    const others = [context(), context(), context()];
    await Promise.all([ctx, ...others].map((c) => reapExpiredLeases(c)));
    for (const { jobId } of jobs) {
      const history = (await getJob(ctx.pool, jobId))!.history;
      expect(history.filter((h) => h.at === new Date(now).toISOString()), jobId).toHaveLength(1);
    }
    expect((await entries(ctx.streams.agentEvents)).filter((e) => e.type === "attempt.expired")).toHaveLength(3);
    expect((await entries(ctx.streams.jobs)).filter((e) => e.type === "job.requeued")).toHaveLength(2);
    expect(await ctx.leases.expired(now, 10)).toEqual([]);
  });

  it("works in batches and says when there may be more", async () => {
    await onlineAgent();
    for (let i = 0; i < 3; i++) await leasedJob();
    now += TTL;
    expect(await reapExpiredLeases(ctx, 2)).toBe(true);
    expect(await reapExpiredLeases(ctx, 2)).toBe(false);
    expect(await ctx.leases.expired(now, 10)).toEqual([]);
  });
});

describe("markSilentAgents", () => {
  it("marks an agent whose presence ran out OFFLINE and drops its presence", async () => {
    const silentAgent = await onlineAgent("ses_quiet");
    now += 1000;
    const live = await onlineAgent("ses_live");
    now += TTL - 500; // the first is past its expiry, the second is not
    expect(await markSilentAgents(ctx)).toBe(false);
    expect((await getAgentRow(ctx.pool, silentAgent))?.status).toBe("OFFLINE");
    expect(await ctx.presence.session(silentAgent)).toBeNull();
    expect((await getAgentRow(ctx.pool, live))?.status).toBe("ONLINE");
    expect(await ctx.presence.session(live)).not.toBeNull();
    const events = await entries(ctx.streams.agentEvents);
    expect(events).toEqual([expect.objectContaining({ type: "agent.offline", agent_id: silentAgent })]);
    expect(JSON.parse(events[0]!.data!)).toEqual({ session_id: "ses_quiet", cause: "heartbeat_missed" });
  });

  // The race of a heartbeat with the reaper, made to happen: the gateway read its clock
  // 1 ms before the presence ran out, and its renewal reaches Redis after the reaper's step named.
  const GATEWAY_LAG_MS = 1;

  it("a heartbeat landing between the reaper's listing and its decision keeps the agent ONLINE and present", async () => {
    const agentId = await onlineAgent("ses_1");
    now += TTL; // exactly the presence's expiry, for the reaper
    let touched: string | null = null;
    class HeartbeatAfterListing extends Presence {
      override async expired(at: number, limit: number) {
        const listed = await super.expired(at, limit);
        touched = await this.touch(agentId, "ses_1", now - GATEWAY_LAG_MS, now - GATEWAY_LAG_MS + TTL, INTERVAL);
        return listed;
      }
    }
    await markSilentAgents({ ...ctx, presence: new HeartbeatAfterListing(ctx.redis, redisKeys(env.config.prefix)) });
    expect(touched).toBe("renewed");
    expect((await getAgentRow(ctx.pool, agentId))?.status).toBe("ONLINE");
    expect(await ctx.presence.session(agentId)).toMatchObject({ sessionId: "ses_1" });
    expect(await entries(ctx.streams.agentEvents)).toEqual([]);
    // Its next heartbeat renews it again: the agent is live on both sides.
    expect(await ctx.presence.touch(agentId, "ses_1", now + 100, now + 100 + TTL, INTERVAL)).toBe("renewed");
  });

  it("a heartbeat landing just after the reaper claimed a silent agent is refused, so the OFFLINE agent says hello again", async () => {
    const agentId = await onlineAgent("ses_1");
    now += TTL;
    let touched: string | null = null;
    class HeartbeatAfterClaim extends Presence {
      override async claimExpired(id: string, at: number) {
        const claimed = await super.claimExpired(id, at);
        touched = await this.touch(agentId, "ses_1", now - GATEWAY_LAG_MS, now - GATEWAY_LAG_MS + TTL, INTERVAL);
        return claimed;
      }
    }
    await markSilentAgents({ ...ctx, presence: new HeartbeatAfterClaim(ctx.redis, redisKeys(env.config.prefix)) });
    // "expired" makes the gateway close the socket: the agent reconnects with a new session.
    expect(touched).toBe("expired");
    expect((await getAgentRow(ctx.pool, agentId))?.status).toBe("OFFLINE");
    expect(await ctx.presence.session(agentId)).toBeNull();
    expect(await entries(ctx.streams.agentEvents)).toEqual([expect.objectContaining({ type: "agent.offline", agent_id: agentId })]);
  });

  it("does not mark OFFLINE an agent whose MySQL session is newer than the silent one", async () => {
    const agentId = await onlineAgent("ses_old");
    // A newer session is recorded in MySQL, but presence still holds the old, expired one.
    await markAgentOnline(ctx.pool, { agentId, gatewayId: "gw-t", sessionId: "ses_new", hostname: "ws", gpus: [], at: new Date(now + 1) });
    now += TTL + 1;
    await markSilentAgents(ctx);
    expect(await getAgentRow(ctx.pool, agentId)).toMatchObject({ status: "ONLINE", session_id: "ses_new" });
    expect(await entries(ctx.streams.agentEvents)).toEqual([]);
  });
});

describe("restoreLostLeases", () => {
  it("gives an active attempt whose lease Redis lost a new lease marked started, so a lost agent's attempt fails instead of re-running", async () => {
    await onlineAgent();
    const { jobId, attemptId, agentId } = await leasedJob(); // ASSIGNED: whether it started is unknown once the lease is gone
    await ctx.leases.release(attemptId); // as if Redis lost it
    const audit = { afterId: "" };
    expect(await restoreLostLeases(ctx, audit)).toBe(false);
    expect(await ctx.leases.get(attemptId)).toEqual({ attemptId, agentId, jobId, started: true, expiresAt: now + TTL });
    // The agent, if alive, may still start it (a retried start is granted again)...
    expect(await ctx.leases.markStarted(attemptId, agentId, now, now + TTL)).toBe<StartGrant>("already_started");
    // ...and if it is gone, the attempt fails at expiry rather than being handed to another agent.
    now += TTL + 1;
    await reapExpiredLeases(ctx);
    expect((await getJob(ctx.pool, jobId))?.history.at(-1)).toMatchObject({ state: "FAILED", cause: "lease_expired" });
  });

  it("leaves existing leases and finished attempts alone, and walks all attempts page by page", async () => {
    await onlineAgent();
    const jobs = [await leasedJob(), await leasedJob({ started: true }), await leasedJob()];
    await ctx.leases.release(jobs[2]!.attemptId);
    const before = await ctx.leases.get(jobs[0]!.attemptId);
    const audit = { afterId: "" };
    expect(await restoreLostLeases(ctx, audit, 2)).toBe(true);
    expect(await restoreLostLeases(ctx, audit, 2)).toBe(false);
    expect(audit.afterId).toBe("");
    expect(await ctx.leases.get(jobs[0]!.attemptId)).toEqual(before);
    expect((await ctx.leases.get(jobs[1]!.attemptId))?.started).toBe(true);
    expect((await ctx.leases.get(jobs[2]!.attemptId))?.started).toBe(true);
  });
});

describe("enforceTimeouts", () => {
  it("fails an attempt still RUNNING a lease TTL past its timeout with cause timeout, drops its lease and tells the agent to stop", async () => {
    const agentId = await onlineAgent();
    const { jobId, attemptId } = await leasedJob({ started: true, timeoutSeconds: 10 });
    now += 10_000 + TTL - 1;
    await enforceTimeouts(ctx);
    expect((await getJob(ctx.pool, jobId))?.state).toBe("RUNNING"); // the agent's own timeout gets the first word
    now += 2;
    await enforceTimeouts(ctx);
    const job = (await getJob(ctx.pool, jobId))!;
    expect(job.history.at(-1)).toMatchObject({ state: "FAILED", cause: "timeout" });
    expect(job.attempts[0]).toMatchObject({ id: attemptId, state: "FAILED", error: { code: "timeout" } });
    expect(await ctx.leases.get(attemptId)).toBeNull();
    const [abort] = await entries(ctx.streams.gateway("gw-t"));
    expect(abort).toMatchObject({ type: "attempt.abort", attempt_id: attemptId, agent_id: agentId });
    expect(JSON.parse(abort!.data!)).toEqual({ reason: "timeout" });
    // Run twice: nothing more happens.
    await enforceTimeouts(ctx);
    expect(await entries(ctx.streams.gateway("gw-t"))).toHaveLength(1);
  });
});
