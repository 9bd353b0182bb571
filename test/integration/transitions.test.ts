import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { checkJobSpec, type JobSpec } from "@labbridge/protocol";
import {
  assignJob, cancelJob, createEnrollmentToken, createJob, createPool, enrollAgent, expireAttempt, finishAttempt, getJob, getJobRow,
  markAgentOnline, requestCancel, revokeAgent, setAgentPaused, startAttempt, type Assignment, type Pool,
} from "@labbridge/store";
import { Leases, redisKeys } from "@labbridge/streams";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// Job and attempt transitions on a migrated MariaDB database, called directly. Every
// transition is fenced: a repeat or a stale writer changes nothing.

const T0 = Date.UTC(2025, 0, 1);
const at = (ms: number) => new Date(T0 + ms);
const SHA = "b".repeat(64);

let env: TestEnv;
let pool: Pool;
let redis: Redis;
let leases: Leases;

beforeEach(async () => {
  env = await createTestEnv();
  pool = createPool(env.config.mysqlUrl);
  redis = new Redis(env.config.redisUrl);
  leases = new Leases(redis, redisKeys(env.config.prefix));
});

afterEach(async () => {
  await pool.end();
  redis.disconnect();
  await env.cleanup();
});

function spec(body: Record<string, unknown> = {}): JobSpec {
  const checked = checkJobSpec({ command: ["python", "train.py"], ...body });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.value;
}

async function newJob(body: Record<string, unknown> = {}): Promise<string> {
  const { job } = await createJob(pool, { owner: "alice", spec: spec(body), idempotencyKey: null, now: at(0) });
  return job.id;
}

/** Enrolls an agent and, unless `online` is false, marks it ONLINE on gateway gw-1. */
async function newAgent(opts: { os?: string; labels?: Record<string, string>; online?: boolean } = {}): Promise<string> {
  const { token } = await createEnrollmentToken(pool, { createdBy: "admin", ttlSeconds: 600, labels: opts.labels ?? {}, now: at(0) });
  const enrolled = await enrollAgent(pool, { token, name: "ws", hostname: "ws", os: opts.os ?? "linux", labels: {}, now: at(0) });
  if (!enrolled) throw new Error("enrollment failed");
  if (opts.online !== false) {
    const ok = await markAgentOnline(pool, {
      agentId: enrolled.agentId, gatewayId: "gw-1", sessionId: `ses_${enrolled.agentId}`, hostname: "ws", gpus: [], at: at(0),
    });
    if (!ok) throw new Error("markAgentOnline failed");
  }
  return enrolled.agentId;
}

async function assign(jobId: string, ms = 1000): Promise<Assignment | null> {
  return assignJob(pool, {
    jobId, now: at(ms),
    grantLease: async ({ attemptId, agentId }) => void (await leases.grant(attemptId, agentId, jobId, T0 + ms + 30_000)),
  });
}

async function assigned(jobId: string, ms = 1000): Promise<Assignment> {
  const a = await assign(jobId, ms);
  if (!a) throw new Error(`job ${jobId} was not assigned`);
  return a;
}

async function attemptRow(attemptId: string) {
  const [rows] = await pool.execute("SELECT * FROM attempts WHERE id = ?", [attemptId]);
  return (rows as Record<string, unknown>[])[0];
}

async function attemptCount(jobId: string): Promise<number> {
  const [rows] = await pool.execute("SELECT COUNT(*) AS n FROM attempts WHERE job_id = ?", [jobId]);
  return Number((rows as { n: number }[])[0]!.n);
}

async function causes(jobId: string): Promise<string[]> {
  return (await getJob(pool, jobId))!.history.map((h) => `${h.state}:${h.cause}`);
}

const succeeded = (outputs: { path: string; key: string }[] = []) => ({
  outcome: "succeeded" as const, exitCode: 0, error: null, outputs: outputs.map((o) => ({ ...o, size: 5, sha256: SHA })),
});

describe("assignJob", () => {
  it("assigns a job only to an ONLINE, unpaused, unrevoked agent whose os and labels fit", async () => {
    await newAgent({ os: "linux", labels: { gpu: "4090" }, online: false });
    const paused = await newAgent({ os: "linux", labels: { gpu: "4090" } });
    await setAgentPaused(pool, { agentId: paused, paused: true, reason: "in use" });
    const revoked = await newAgent({ os: "linux", labels: { gpu: "4090" } });
    await revokeAgent(pool, { agentId: revoked, now: at(0) });
    await newAgent({ os: "windows", labels: { gpu: "4090" } });
    await newAgent({ os: "linux", labels: { gpu: "3090" } });
    await newAgent({ os: "linux" });
    const fits = await newAgent({ os: "linux", labels: { gpu: "4090", lab: "b201" } });

    const jobId = await newJob({ requirements: { os: "linux", labels: { gpu: "4090" } } });
    const a = await assigned(jobId);
    expect(a.agentId).toBe(fits);
    expect(a.gatewayId).toBe("gw-1");

    const job = await getJobRow(pool, jobId);
    expect(job).toMatchObject({ state: "ASSIGNED", current_attempt_id: a.attemptId });
    expect(await attemptRow(a.attemptId)).toMatchObject({ state: "ASSIGNED", number: 1, agent_id: fits, job_id: jobId });
    expect(await leases.get(a.attemptId)).toMatchObject({ agentId: fits, jobId, started: false });
  });

  it("leaves the job PENDING with no attempt when no agent fits", async () => {
    await newAgent({ os: "windows" });
    const jobId = await newJob({ requirements: { os: "linux" } });
    expect(await assign(jobId)).toBeNull();
    expect((await getJobRow(pool, jobId))?.state).toBe("PENDING");
    expect(await attemptCount(jobId)).toBe(0);
  });

  it("never gives an agent more active attempts than it has slots", async () => {
    const agent = await newAgent();
    const first = await newJob();
    const second = await newJob();
    expect((await assigned(first)).agentId).toBe(agent);
    expect(await assign(second)).toBeNull();
    await pool.execute("UPDATE agents SET slots = 2 WHERE id = ?", [agent]);
    expect((await assigned(second)).agentId).toBe(agent);
  });

  it("frees the slot when an attempt ends", async () => {
    const agent = await newAgent();
    const first = await newJob();
    const second = await newJob();
    const a = await assigned(first);
    await finishAttempt(pool, { jobId: first, attemptId: a.attemptId, agentId: agent, result: succeeded(), now: at(2000) });
    expect((await assigned(second, 3000)).agentId).toBe(agent);
  });

  it("two concurrent assignments of two jobs to one free slot assign exactly one", async () => {
    for (let round = 0; round < 5; round++) {
      const agent = await newAgent({ labels: { round: String(round) } });
      const jobs = [await newJob({ requirements: { labels: { round: String(round) } } }), await newJob({ requirements: { labels: { round: String(round) } } })];
      const results = await Promise.all(jobs.map((j) => assign(j)));
      const won = results.filter((r) => r !== null);
      expect(won, `round ${round}`).toHaveLength(1);
      expect(won[0]!.agentId).toBe(agent);
      const [rows] = await pool.execute("SELECT COUNT(*) AS n FROM attempts WHERE agent_id = ? AND state IN ('ASSIGNED','RUNNING')", [agent]);
      expect(Number((rows as { n: number }[])[0]!.n)).toBe(1);
    }
  });

  it("concurrent assignments with as many free agents as jobs all succeed, one job per agent", async () => {
    for (let round = 0; round < 5; round++) {
      const labels = { pool: `p${round}` };
      const agents = [await newAgent({ labels }), await newAgent({ labels }), await newAgent({ labels })];
      const jobs = await Promise.all([0, 1, 2].map(() => newJob({ requirements: { labels } })));
      const results = await Promise.all(jobs.map((j) => assign(j)));
      // No scheduler holds an agent it is not assigning to, so none comes back empty-handed.
      expect(results.every((r) => r !== null), `round ${round}`).toBe(true);
      expect(new Set(results.map((r) => r!.agentId))).toEqual(new Set(agents));
    }
  });

  it("the same job assigned twice at once gets one attempt", async () => {
    await newAgent();
    await newAgent();
    const jobId = await newJob();
    const results = await Promise.all([assign(jobId), assign(jobId)]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await attemptCount(jobId)).toBe(1);
  });

  it("does not assign a job that is wanted canceled", async () => {
    await newAgent();
    const jobId = await newJob();
    expect(await requestCancel(pool, jobId, at(500))).toBe("requested");
    expect(await assign(jobId)).toBeNull();
    expect(await attemptCount(jobId)).toBe(0);
  });

  it("commits nothing when granting the lease fails", async () => {
    await newAgent();
    const jobId = await newJob();
    await expect(assignJob(pool, { jobId, now: at(1000), grantLease: async () => { throw new Error("Redis is away"); } })).rejects.toThrow("Redis is away");
    expect((await getJobRow(pool, jobId))?.state).toBe("PENDING");
    expect(await attemptCount(jobId)).toBe(0);
    expect(await causes(jobId)).toEqual(["PENDING:submitted"]);
  });

  it("spreads jobs over agents, least recently assigned first", async () => {
    const [a1, a2, a3, a4] = [await newAgent(), await newAgent(), await newAgent(), await newAgent()];
    await pool.execute("UPDATE agents SET slots = 5");
    // An order unlike the enrollment (and id) order: a2 never assigned, then a3, a4, a1.
    await pool.execute("UPDATE agents SET last_assigned_at = NULL WHERE id = ?", [a2]);
    for (const [agent, ms] of [[a3, 100], [a4, 200], [a1, 300]] as const) await pool.execute("UPDATE agents SET last_assigned_at = ? WHERE id = ?", [at(ms), agent]);
    const order: string[] = [];
    for (let i = 0; i < 5; i++) order.push((await assigned(await newJob(), 1000 * (i + 1))).agentId);
    // The fifth goes back to the one assigned longest ago, a2 (at 1000).
    expect(order).toEqual([a2, a3, a4, a1, a2]);
  });
});

describe("startAttempt", () => {
  it("moves the attempt and the job to RUNNING once, however often it is called", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    const first = await startAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, now: at(2000) });
    expect(first).toMatchObject({ from: "ASSIGNED", to: "RUNNING", cause: "started" });
    expect(await startAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, now: at(3000) })).toBeNull();
    expect(await getJobRow(pool, jobId)).toMatchObject({ state: "RUNNING", attempts_started: 1 });
    expect((await attemptRow(a.attemptId))?.started_at).toEqual(at(2000));
    expect(await causes(jobId)).toEqual(["PENDING:submitted", "ASSIGNED:assigned", "RUNNING:started"]);
  });

  it("refuses a start reported for another agent", async () => {
    await newAgent();
    const other = await newAgent({ online: false });
    const jobId = await newJob();
    const a = await assigned(jobId);
    expect(await startAttempt(pool, { jobId, attemptId: a.attemptId, agentId: other, now: at(2000) })).toBeNull();
    expect((await getJobRow(pool, jobId))?.state).toBe("ASSIGNED");
  });
});

describe("finishAttempt", () => {
  it("records success with the outputs and frees nothing twice", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    await startAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, now: at(2000) });
    const key = `jobs/${jobId}/${a.attemptId}/outputs/model.pt`;
    const t = await finishAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, result: succeeded([{ path: "model.pt", key }]), now: at(3000) });
    expect(t).toMatchObject({ from: "RUNNING", to: "SUCCEEDED", cause: "succeeded" });
    const job = await getJob(pool, jobId);
    expect(job?.state).toBe("SUCCEEDED");
    expect(job?.outputs).toEqual([{ key, path: "model.pt", size: 5, sha256: SHA }]);
    expect(job?.attempts[0]).toMatchObject({ state: "SUCCEEDED", exit_code: 0, finished_at: at(3000).toISOString() });
    expect(await finishAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, result: { outcome: "failed", exitCode: 1, error: null, outputs: [] }, now: at(4000) })).toBeNull();
    expect((await getJobRow(pool, jobId))?.state).toBe("SUCCEEDED");
  });

  it("accepts a finish reported before the start (ASSIGNED), counting the attempt as started", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    const t = await finishAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, result: succeeded(), now: at(3000) });
    expect(t).toMatchObject({ from: "ASSIGNED", to: "SUCCEEDED" });
    expect(await getJobRow(pool, jobId)).toMatchObject({ state: "SUCCEEDED", attempts_started: 1 });
    expect((await attemptRow(a.attemptId))?.started_at).toEqual(at(3000));
    // The late `started` report then changes nothing.
    expect(await startAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, now: at(2000) })).toBeNull();
    expect((await getJobRow(pool, jobId))?.state).toBe("SUCCEEDED");
  });

  it("changes nothing for an attempt id that is stale or unknown", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const old = await assigned(jobId);
    await expireAttempt(pool, { jobId, attemptId: old.attemptId, leaseStarted: false, now: at(40_000) });
    const current = await assigned(jobId, 41_000);
    const before = await getJob(pool, jobId);
    expect(await finishAttempt(pool, { jobId, attemptId: old.attemptId, agentId: agent, result: succeeded(), now: at(42_000) })).toBeNull();
    expect(await finishAttempt(pool, { jobId, attemptId: "att_00000000000000000000000000", agentId: agent, result: succeeded(), now: at(42_000) })).toBeNull();
    expect(await getJob(pool, jobId)).toEqual(before);
    expect(before).toMatchObject({ state: "ASSIGNED" });
    expect(before!.attempts.map((x) => [x.id, x.state])).toEqual([[old.attemptId, "EXPIRED"], [current.attemptId, "ASSIGNED"]]);
  });

  it("changes neither the job nor the attempt for an active attempt that is not the job's current one", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    // An attempt row left active while the job moved on (what the fence exists to catch).
    await pool.execute("UPDATE jobs SET current_attempt_id = NULL, state = 'PENDING' WHERE id = ?", [jobId]);
    expect(await finishAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, result: succeeded(), now: at(3000) })).toBeNull();
    expect((await getJobRow(pool, jobId))?.state).toBe("PENDING");
    expect((await attemptRow(a.attemptId))?.state).toBe("ASSIGNED");
  });

  it("records the failure cause the agent reported", async () => {
    const agent = await newAgent();
    await pool.execute("UPDATE agents SET slots = 10");
    const cases: [{ code: "timeout" | "spawn_failed" | "exit_nonzero" | "lease_lost"; message: string } | null, string][] = [
      [{ code: "timeout", message: "ran 60 s" }, "timeout"],
      [{ code: "spawn_failed", message: "no python" }, "spawn_failed"],
      [{ code: "exit_nonzero", message: "exit 2" }, "exit_nonzero"],
      [null, "exit_nonzero"],
    ];
    for (const [error, cause] of cases) {
      const jobId = await newJob();
      const a = await assigned(jobId);
      const t = await finishAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, result: { outcome: "failed", exitCode: 2, error, outputs: [] }, now: at(2000) });
      expect(t?.cause).toBe(cause);
      expect((await getJob(pool, jobId))?.attempts[0]?.error).toEqual(error);
    }
  });
});

describe("expireAttempt", () => {
  it("hands a never-started assignment back: job PENDING, attempt EXPIRED", async () => {
    await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    const t = await expireAttempt(pool, { jobId, attemptId: a.attemptId, leaseStarted: false, now: at(40_000) });
    expect(t).toMatchObject({ from: "ASSIGNED", to: "PENDING", cause: "lease_expired_before_start" });
    expect(await getJobRow(pool, jobId)).toMatchObject({ state: "PENDING", current_attempt_id: null, attempts_started: 0 });
    expect(await attemptRow(a.attemptId)).toMatchObject({ state: "EXPIRED", error_code: "lease_expired", started_at: null });
    // And it can be assigned again, as attempt number 2.
    const again = await assigned(jobId, 41_000);
    expect((await attemptRow(again.attemptId))?.number).toBe(2);
  });

  it("fails a started attempt with cause lease_expired when max_attempts is 1", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    await startAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, now: at(2000) });
    const t = await expireAttempt(pool, { jobId, attemptId: a.attemptId, leaseStarted: true, now: at(40_000) });
    expect(t).toMatchObject({ from: "RUNNING", to: "FAILED", cause: "lease_expired" });
    expect(await getJobRow(pool, jobId)).toMatchObject({ state: "FAILED", current_attempt_id: a.attemptId });
    expect(await attemptRow(a.attemptId)).toMatchObject({ state: "FAILED", error_code: "lease_expired" });
    expect(await assign(jobId, 41_000)).toBeNull();
  });

  it("treats a lease marked started as started even before MySQL says RUNNING", async () => {
    await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    const t = await expireAttempt(pool, { jobId, attemptId: a.attemptId, leaseStarted: true, now: at(40_000) });
    expect(t).toMatchObject({ from: "ASSIGNED", to: "FAILED", cause: "lease_expired" });
    expect(await getJobRow(pool, jobId)).toMatchObject({ state: "FAILED", attempts_started: 1 });
    expect((await attemptRow(a.attemptId))?.started_at).toEqual(at(40_000));
  });

  it("re-queues a started attempt when max_attempts allows, and fails it once they are used up", async () => {
    const agent = await newAgent();
    const jobId = await newJob({ max_attempts: 2 });
    const first = await assigned(jobId);
    await startAttempt(pool, { jobId, attemptId: first.attemptId, agentId: agent, now: at(2000) });
    expect(await expireAttempt(pool, { jobId, attemptId: first.attemptId, leaseStarted: true, now: at(40_000) }))
      .toMatchObject({ to: "PENDING", cause: "requeued" });
    expect(await getJobRow(pool, jobId)).toMatchObject({ state: "PENDING", attempts_started: 1 });

    const second = await assigned(jobId, 41_000);
    await startAttempt(pool, { jobId, attemptId: second.attemptId, agentId: agent, now: at(42_000) });
    expect(await expireAttempt(pool, { jobId, attemptId: second.attemptId, leaseStarted: true, now: at(80_000) }))
      .toMatchObject({ to: "FAILED", cause: "lease_expired" });
    expect(await getJobRow(pool, jobId)).toMatchObject({ state: "FAILED", attempts_started: 2 });
  });

  it("does not count never-started assignments against max_attempts", async () => {
    const agent = await newAgent();
    const jobId = await newJob({ max_attempts: 1 });
    const first = await assigned(jobId);
    await expireAttempt(pool, { jobId, attemptId: first.attemptId, leaseStarted: false, now: at(40_000) });
    const second = await assigned(jobId, 41_000);
    await startAttempt(pool, { jobId, attemptId: second.attemptId, agentId: agent, now: at(42_000) });
    const t = await finishAttempt(pool, { jobId, attemptId: second.attemptId, agentId: agent, result: succeeded(), now: at(43_000) });
    expect(t?.to).toBe("SUCCEEDED");
  });

  it("applies once when two reapers expire the same attempt", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    await startAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, now: at(2000) });
    const results = await Promise.all([
      expireAttempt(pool, { jobId, attemptId: a.attemptId, leaseStarted: true, now: at(40_000) }),
      expireAttempt(pool, { jobId, attemptId: a.attemptId, leaseStarted: true, now: at(40_001) }),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await expireAttempt(pool, { jobId, attemptId: a.attemptId, leaseStarted: true, now: at(50_000) })).toBeNull();
    expect((await causes(jobId)).filter((c) => c.endsWith(":lease_expired"))).toHaveLength(1);
  });

  it("does nothing to an attempt that already finished", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    await finishAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, result: succeeded(), now: at(2000) });
    expect(await expireAttempt(pool, { jobId, attemptId: a.attemptId, leaseStarted: true, now: at(40_000) })).toBeNull();
    expect((await getJobRow(pool, jobId))?.state).toBe("SUCCEEDED");
  });

  it("ends a job that was wanted canceled as CANCELED", async () => {
    await newAgent();
    const jobId = await newJob({ max_attempts: 3 });
    const a = await assigned(jobId);
    await requestCancel(pool, jobId, at(1500));
    expect(await expireAttempt(pool, { jobId, attemptId: a.attemptId, leaseStarted: false, now: at(40_000) }))
      .toMatchObject({ to: "CANCELED", cause: "canceled" });
  });
});

describe("cancelJob", () => {
  const revoke = (attemptId: string) => leases.revokeUnstarted(attemptId);

  it("cancels a PENDING job at once", async () => {
    const jobId = await newJob();
    expect(await requestCancel(pool, jobId, at(100))).toBe("requested");
    const outcome = await cancelJob(pool, { jobId, now: at(200), revokeUnstartedLease: revoke });
    expect(outcome).toMatchObject({ kind: "canceled", attempt: null, transition: { from: "PENDING", to: "CANCELED", cause: "cancel_requested" } });
    expect((await getJobRow(pool, jobId))?.state).toBe("CANCELED");
  });

  it("does nothing for a job nobody asked to cancel", async () => {
    const jobId = await newJob();
    expect(await cancelJob(pool, { jobId, now: at(200), revokeUnstartedLease: revoke })).toEqual({ kind: "nothing" });
    expect((await getJobRow(pool, jobId))?.state).toBe("PENDING");
  });

  it("cancels an assignment that never started and removes its lease", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    await requestCancel(pool, jobId, at(1500));
    const outcome = await cancelJob(pool, { jobId, now: at(2000), revokeUnstartedLease: revoke });
    expect(outcome).toMatchObject({ kind: "canceled", attempt: { id: a.attemptId, agentId: agent } });
    expect((await getJobRow(pool, jobId))?.state).toBe("CANCELED");
    expect((await attemptRow(a.attemptId))?.state).toBe("CANCELED");
    expect(await leases.get(a.attemptId)).toBeNull();
    expect(await leases.markStarted(a.attemptId, agent, T0 + 2500, T0 + 60_000)).toBe("refused");
  });

  it("asks the agent to stop an assignment whose lease was already marked started", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    await leases.markStarted(a.attemptId, agent, T0 + 1200, T0 + 60_000);
    await requestCancel(pool, jobId, at(1500));
    expect(await cancelJob(pool, { jobId, now: at(2000), revokeUnstartedLease: revoke }))
      .toEqual({ kind: "signal_agent", attemptId: a.attemptId, agentId: agent });
    expect((await getJobRow(pool, jobId))?.state).toBe("ASSIGNED");
  });

  it("asks the agent to stop a RUNNING attempt and leaves the state to its report", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    await startAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, now: at(1200) });
    await requestCancel(pool, jobId, at(1500));
    expect(await cancelJob(pool, { jobId, now: at(2000), revokeUnstartedLease: revoke }))
      .toEqual({ kind: "signal_agent", attemptId: a.attemptId, agentId: agent });
    await finishAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, result: { outcome: "canceled", exitCode: null, error: null, outputs: [] }, now: at(3000) });
    expect(await causes(jobId)).toEqual(["PENDING:submitted", "ASSIGNED:assigned", "RUNNING:started", "CANCELED:canceled"]);
  });

  it("refuses a cancel request for a finished job and reports an unknown one", async () => {
    const agent = await newAgent();
    const jobId = await newJob();
    const a = await assigned(jobId);
    await finishAttempt(pool, { jobId, attemptId: a.attemptId, agentId: agent, result: succeeded(), now: at(2000) });
    expect(await requestCancel(pool, jobId, at(3000))).toBe("already_finished");
    expect(await requestCancel(pool, "job_nope", at(3000))).toBe("not_found");
  });
});

describe("history", () => {
  it("records every state change of a job with its time and cause", async () => {
    const agent = await newAgent();
    const jobId = await newJob({ max_attempts: 2 });
    const first = await assigned(jobId, 1000);
    await expireAttempt(pool, { jobId, attemptId: first.attemptId, leaseStarted: false, now: at(31_000) });
    const second = await assigned(jobId, 32_000);
    await startAttempt(pool, { jobId, attemptId: second.attemptId, agentId: agent, now: at(33_000) });
    await expireAttempt(pool, { jobId, attemptId: second.attemptId, leaseStarted: true, now: at(63_000) });
    const third = await assigned(jobId, 64_000);
    await startAttempt(pool, { jobId, attemptId: third.attemptId, agentId: agent, now: at(65_000) });
    await finishAttempt(pool, { jobId, attemptId: third.attemptId, agentId: agent, result: succeeded(), now: at(66_000) });

    const job = await getJob(pool, jobId);
    expect(job!.history.map((h) => [h.state, h.cause, h.at, h.attempt_id])).toEqual([
      ["PENDING", "submitted", at(0).toISOString(), null],
      ["ASSIGNED", "assigned", at(1000).toISOString(), first.attemptId],
      ["PENDING", "lease_expired_before_start", at(31_000).toISOString(), first.attemptId],
      ["ASSIGNED", "assigned", at(32_000).toISOString(), second.attemptId],
      ["RUNNING", "started", at(33_000).toISOString(), second.attemptId],
      ["PENDING", "requeued", at(63_000).toISOString(), second.attemptId],
      ["ASSIGNED", "assigned", at(64_000).toISOString(), third.attemptId],
      ["RUNNING", "started", at(65_000).toISOString(), third.attemptId],
      ["SUCCEEDED", "succeeded", at(66_000).toISOString(), third.attemptId],
    ]);
    expect(job!.attempts.map((a) => [a.number, a.state])).toEqual([[1, "EXPIRED"], [2, "FAILED"], [3, "SUCCEEDED"]]);
  });
});
