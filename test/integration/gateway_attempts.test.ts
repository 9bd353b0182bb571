import { describe, expect, it } from "vitest";
import { CLOSE_CODES, ID_PREFIX, newId } from "@labbridge/protocol";
import { requestCancel } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { waitFor } from "../harness/test_env.ts";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";
import type { ScriptedAgent } from "./ws_agent.ts";

// Attempts end to end through gateway, scheduler and reaper: assignment, the start gate,
// presigned uploads, reports, and what happens when leases run out (DESIGN.md rule 4).

const SHA = "e".repeat(64);
let s: GatewayStack;
stackPerTest((stack) => (s = stack));

// Negative checks wait for a sentinel ordered after the thing that must not happen, never
// for a fixed time: on a slow machine a pause proves nothing.

/**
 * Sends a progress line for `attemptId` (its first: progress is limited to one a second)
 * and waits until the scheduler forwarded it. The gateway handles a session's frames in
 * order and the scheduler consumes agent-events in order, so every frame sent before has
 * been handled by both by then.
 */
async function afterSchedulerCaughtUp(agent: ScriptedAgent, attemptId: string): Promise<void> {
  const message = `sentinel ${newId(ID_PREFIX.attempt)}`;
  agent.send({ type: "attempt.progress", attempt_id: attemptId, message });
  await waitFor(async () => (await s.entries(`${s.env.config.prefix}:job-events`)).some((e) => e.type === "job.progress" && e.data?.includes(message)), 10_000, "sentinel progress forwarded");
}

/** Sends a heartbeat and waits for its ack: every frame sent before on this socket has been answered by then. */
async function afterGatewayAnswered(agent: ScriptedAgent, running: string[]): Promise<void> {
  const before = agent.all("heartbeat.ack").length;
  agent.send({ type: "heartbeat", running });
  await waitFor(() => agent.all("heartbeat.ack").length > before, 5000, "heartbeat.ack");
}

/**
 * A PENDING job canceled through the jobs stream, after everything on it so far. Once it
 * is CANCELED the scheduler has tried every older PENDING job: either its jobs consumer
 * reached the cancel entry, past every earlier entry (submissions, requeues), or a sweep
 * cancelled it first, and a sweep walks PENDING jobs oldest first.
 */
async function afterSchedulerTriedOlderJobs(): Promise<void> {
  const sentinel = await s.submit({ requirements: { labels: { role: "nobody" } } });
  expect(await requestCancel(s.pool, sentinel, new Date(s.now))).toBe("requested");
  await appendEntry(s.gw.ctx.redis, s.gw.ctx.streams.jobs, { type: "job.cancel_requested", job_id: sentinel, data: { by: "alice" } });
  await s.jobIn(sentinel, "CANCELED");
}

/**
 * An attempt that really was this agent's and has ended, so its lease is gone: what a
 * heartbeat or hello names after a report the agent did not see acknowledged. (Ids that
 * were never the agent's own are ignored outright: gateway_untrusted_agent.test.ts.)
 */
async function endedAttempt(agent: ScriptedAgent): Promise<string> {
  const { jobId, attemptId } = await s.running(agent);
  agent.send({ type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null, outputs: [] });
  expect(await agent.next("attempt.report_ack")).toMatchObject({ attempt_id: attemptId, accepted: true });
  await s.jobIn(jobId, "SUCCEEDED");
  await waitFor(async () => !(await s.gw.ctx.leases.get(attemptId)), 10_000, "the ended attempt's lease released");
  return attemptId;
}

/**
 * A running attempt, on an agent of its own, whose lease the test never renews: it runs
 * out `afterMs` after now. Once it is FAILED, a reaper pass has listed every lease that
 * ran out no later than it.
 */
async function sentinelLease(afterMs = 1): Promise<{ jobId: string; attemptId: string; agent: ScriptedAgent }> {
  s.advance(afterMs);
  const { agent } = await s.newAgent({ role: "sentinel" });
  const { jobId, attemptId } = await s.running(agent, { requirements: { labels: { role: "sentinel" } } });
  return { jobId, attemptId, agent };
}

describe("assignment and start", () => {
  it("a submitted job is delivered to a fitting agent as attempt.assign and the job is ASSIGNED", async () => {
    const { agentId, agent } = await s.newAgent({ gpu: "rtx4090" });
    const { jobId, attemptId, assign } = await s.assignedTo(agent, {
      command: ["python", "train.py", "--epochs", "3"], env: { WANDB_MODE: "offline" }, timeout_seconds: 600,
      inputs: [{ key: "inputs/upl_1/data.zip", path: "data.zip" }], requirements: { os: "linux", labels: { gpu: "rtx4090" } },
    });
    expect(assign).toEqual({
      type: "attempt.assign", attempt_id: attemptId, job_id: jobId, command: ["python", "train.py", "--epochs", "3"],
      env: { WANDB_MODE: "offline" }, timeout_seconds: 600,
      inputs: [{ key: "inputs/upl_1/data.zip", path: "data.zip", url: expect.stringContaining("/inputs/upl_1/data.zip?") }],
      // It asked for no GPU, so it is given none (and the agent hides every GPU from it).
      gpus: [],
    });
    expect(new URL(assign.inputs[0]!.url).searchParams.get("Signature")).toBeTruthy();
    expect(await s.job(jobId)).toMatchObject({ state: "ASSIGNED", attempts: [{ id: attemptId, agent_id: agentId, state: "ASSIGNED" }] });
  });

  it("the stream entry of an assignment carries no presigned URL", async () => {
    const { agent } = await s.newAgent();
    await s.assignedTo(agent, { inputs: [{ key: "inputs/upl_1/data.zip", path: "data.zip" }] });
    const commands = await s.entries(s.gw.ctx.streams.gateway(s.env.config.gatewayId));
    expect(commands.map((e) => e.type)).toContain("attempt.assign");
    expect(JSON.stringify(commands)).not.toMatch(/Signature=/);
  });

  it("start_request is granted and the job goes RUNNING", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.assignedTo(agent);
    agent.send({ type: "attempt.start_request", attempt_id: attemptId });
    expect(await agent.next("attempt.start_granted")).toEqual({ type: "attempt.start_granted", attempt_id: attemptId });
    const j = await s.jobIn(jobId, "RUNNING");
    expect(j.attempts[0]).toMatchObject({ state: "RUNNING", started_at: new Date(s.now).toISOString() });
    expect((await s.gw.ctx.leases.get(attemptId))?.started).toBe(true);
  });

  it("a repeated start_request is granted again and starts the job only once", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    agent.send({ type: "attempt.start_request", attempt_id: attemptId });
    await agent.next("attempt.start_granted", (m) => m.attempt_id === attemptId);
    await afterSchedulerCaughtUp(agent, attemptId);
    expect((await s.job(jobId)).history.filter((h) => h.cause === "started")).toHaveLength(1);
  });

  it("a start_request after the lease expired is answered with attempt.abort start_refused", async () => {
    const { agent } = await s.newAgent();
    const { attemptId } = await s.running(agent);
    s.advance(s.env.config.leaseTtlSeconds * 1000 + 1);
    agent.send({ type: "attempt.start_request", attempt_id: attemptId });
    expect(await agent.next("attempt.abort", (m) => m.reason === "start_refused")).toEqual({ type: "attempt.abort", attempt_id: attemptId, reason: "start_refused" });
    expect(agent.all("attempt.start_granted")).toHaveLength(1);
  });

  it("a start_request for an attempt of another agent is refused", async () => {
    const owner = await s.newAgent({ role: "owner" });
    const other = await s.newAgent();
    const { jobId, attemptId } = await s.assignedTo(owner.agent, { requirements: { labels: { role: "owner" } } });
    other.agent.send({ type: "attempt.start_request", attempt_id: attemptId });
    expect(await other.agent.next("attempt.abort")).toMatchObject({ attempt_id: attemptId, reason: "start_refused" });
    expect((await s.job(jobId)).state).toBe("ASSIGNED");
    expect((await s.gw.ctx.leases.get(attemptId))?.started).toBe(false);
  });
});

describe("uploads and reports", () => {
  it("presign.request is answered only inside the attempt's own prefix", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    agent.send({ type: "presign.request", request_id: "r1", attempt_id: attemptId, files: [{ path: "outputs/x", size: 3 }, { path: "logs/stdout.log", size: 9 }] });
    const ok = await agent.next("presign.response", (m) => m.request_id === "r1");
    expect(ok.error).toBeNull();
    expect(ok.uploads.map((u) => [u.path, u.key, u.method])).toEqual([
      ["outputs/x", `jobs/${jobId}/${attemptId}/outputs/x`, "PUT"],
      ["logs/stdout.log", `jobs/${jobId}/${attemptId}/logs/stdout.log`, "PUT"],
    ]);
    const put = new URL(ok.uploads[0]!.url!);
    expect(put.pathname).toBe(`/jobs/${jobId}/${attemptId}/outputs/x`);
    expect(Number(put.searchParams.get("Expires"))).toBe(Math.floor(s.now / 1000) + s.env.config.presignSeconds);

    agent.send({ type: "presign.request", request_id: "r2", attempt_id: attemptId, files: [{ path: "other/x", size: 1 }] });
    expect(await agent.next("presign.response", (m) => m.request_id === "r2")).toMatchObject({ uploads: [], error: { code: "validation_failed" } });
    expect(agent.isOpen).toBe(true);

    // "../x" is refused at the edge: the frame itself is malformed.
    agent.send({ type: "presign.request", request_id: "r3", attempt_id: attemptId, files: [{ path: "../x", size: 1 }] });
    expect((await agent.waitClosed()).code).toBe(CLOSE_CODES.malformed);
    expect(agent.all("presign.response").filter((m) => m.request_id === "r3")).toEqual([]);
  });

  it("presign.request for an attempt leased to another agent, or not leased at all, is forbidden", async () => {
    const owner = await s.newAgent({ role: "owner" });
    const other = await s.newAgent();
    const { attemptId } = await s.running(owner.agent, { requirements: { labels: { role: "owner" } } });
    other.agent.send({ type: "presign.request", request_id: "steal", attempt_id: attemptId, files: [{ path: "outputs/x", size: 1 }] });
    expect(await other.agent.next("presign.response")).toMatchObject({ request_id: "steal", uploads: [], error: { code: "forbidden" } });
    other.agent.send({ type: "presign.request", request_id: "none", attempt_id: newId(ID_PREFIX.attempt), files: [{ path: "outputs/x", size: 1 }] });
    expect(await other.agent.next("presign.response")).toMatchObject({ request_id: "none", error: { code: "forbidden" } });
  });

  it("presign.request after the attempt's lease expired is forbidden", async () => {
    const { agent } = await s.newAgent();
    const { attemptId } = await s.running(agent);
    s.advance(s.env.config.leaseTtlSeconds * 1000 + 1);
    agent.send({ type: "presign.request", request_id: "late", attempt_id: attemptId, files: [{ path: "outputs/x", size: 1 }] });
    expect(await agent.next("presign.response", (m) => m.request_id === "late")).toMatchObject({ uploads: [], error: { code: "forbidden" } });
  });

  it("attempt.finished ends the job SUCCEEDED with its outputs recorded and the lease released", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const key = `jobs/${jobId}/${attemptId}/outputs/model.pt`;
    agent.send({
      type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null,
      outputs: [{ path: "model.pt", key, size: 123, sha256: SHA }],
    });
    expect(await agent.next("attempt.report_ack")).toEqual({ type: "attempt.report_ack", attempt_id: attemptId, accepted: true });
    const done = await s.jobIn(jobId, "SUCCEEDED");
    expect(done.outputs).toEqual([{ key, path: "model.pt", size: 123, sha256: SHA }]);
    expect(done.attempts[0]).toMatchObject({ state: "SUCCEEDED", exit_code: 0 });
    expect(done.history.map((h) => h.cause)).toEqual(["submitted", "assigned", "started", "succeeded"]);
    await waitFor(async () => (await s.gw.ctx.leases.get(attemptId)) === null, 5000, "lease released");
  });

  it("every state change is published on <prefix>:job-events", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    agent.send({ type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null, outputs: [] });
    await s.jobIn(jobId, "SUCCEEDED");
    const events = await waitFor(async () => {
      const e = (await s.entries(`${s.env.config.prefix}:job-events`)).filter((x) => x.type === "job.state_changed" && x.job_id === jobId);
      return e.length >= 3 ? e : null;
    }, 5000, "job events");
    expect(events.map((e) => JSON.parse(e.data!))).toEqual([
      { from: "PENDING", to: "ASSIGNED", cause: "assigned" },
      { from: "ASSIGNED", to: "RUNNING", cause: "started" },
      { from: "RUNNING", to: "SUCCEEDED", cause: "succeeded" },
    ]);
    expect(events.every((e) => e.attempt_id === attemptId && e.v === "1")).toBe(true);
  });

  it("progress lines reach <prefix>:job-events, at most one per second per attempt", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    agent.send({ type: "attempt.progress", attempt_id: attemptId, message: "epoch 1/3" });
    agent.send({ type: "attempt.progress", attempt_id: attemptId, message: "dropped: same second" });
    // Both frames are handled in order; wait for the first to be forwarded before moving the clock.
    // Both handled once the heartbeat after them is answered; only then does the clock move.
    await afterGatewayAnswered(agent, [attemptId]);
    s.advance(1000);
    agent.send({ type: "attempt.progress", attempt_id: attemptId, message: "epoch 2/3" });
    // Forwarded in order: a line that slipped through would come before "epoch 2/3".
    const progress = await waitFor(async () => {
      const e = (await s.entries(`${s.env.config.prefix}:job-events`)).filter((x) => x.type === "job.progress");
      return e.some((x) => x.data?.includes("epoch 2/3")) ? e : null;
    }, 5000, "progress events");
    expect(progress.map((e) => [e.job_id, JSON.parse(e.data!).message])).toEqual([[jobId, "epoch 1/3"], [jobId, "epoch 2/3"]]);
  });

  it("attempt.finished with an output key outside the attempt's prefix is refused", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    agent.send({
      type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null,
      outputs: [{ path: "model.pt", key: "jobs/job_other/att_other/outputs/model.pt", size: 1, sha256: SHA }],
    });
    expect(await agent.next("error")).toMatchObject({ code: "validation_failed" });
    await afterSchedulerCaughtUp(agent, attemptId);
    expect((await s.job(jobId)).state).toBe("RUNNING");
  });

  it("a failed attempt is FAILED with the agent's cause and is not re-run", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    agent.send({ type: "attempt.finished", attempt_id: attemptId, outcome: "failed", exit_code: 3, error: { code: "exit_nonzero", message: "exit 3" }, outputs: [] });
    const failed = await s.jobIn(jobId, "FAILED");
    expect(failed.attempts).toEqual([expect.objectContaining({ state: "FAILED", exit_code: 3, error: { code: "exit_nonzero", message: "exit 3" } })]);
    expect(failed.history.at(-1)?.cause).toBe("exit_nonzero");
    await afterSchedulerTriedOlderJobs();
    expect(await s.job(jobId)).toMatchObject({ state: "FAILED", attempts: [{ state: "FAILED" }] });
    // And the agent, free again, is handed a later job, with no re-run of the older one before it.
    const later = await s.assignedTo(agent);
    expect(agent.all("attempt.assign").map((m) => m.job_id)).toEqual([jobId, later.jobId]);
  });

  it("a result that reached the gateway in time counts even when the scheduler records it long after the lease TTL", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const sentinel = await sentinelLease();
    const startScheduler = await s.stopScheduler(); // nothing records results now, as during a MySQL outage
    agent.send({ type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null, outputs: [] });
    expect(await agent.next("attempt.report_ack")).toEqual({ type: "attempt.report_ack", attempt_id: attemptId, accepted: true });
    s.advance(s.env.config.leaseTtlSeconds * 1000 * 5);
    // The reaper passed over every lease that ran out by the sentinel's expiry, this one's first.
    await s.jobIn(sentinel.jobId, "FAILED");
    expect((await s.job(jobId)).state).toBe("RUNNING"); // the reaper left it alone
    startScheduler();
    const done = await s.jobIn(jobId, "SUCCEEDED");
    expect(done.history.at(-1)?.cause).toBe("succeeded");
  });

  it("a report that arrives after the lease ran out is too late: the attempt fails with lease_expired", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    s.advance(s.env.config.leaseTtlSeconds * 1000 + 1);
    agent.send({
      type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null,
      outputs: [{ path: "m.pt", key: `jobs/${jobId}/${attemptId}/outputs/m.pt`, size: 1, sha256: SHA }],
    });
    // Acknowledged as not accepted, so the agent stops re-sending a report that cannot count.
    expect(await agent.next("attempt.report_ack")).toEqual({ type: "attempt.report_ack", attempt_id: attemptId, accepted: false });
    const failed = await s.jobIn(jobId, "FAILED");
    expect(failed.history.at(-1)?.cause).toBe("lease_expired");
    expect(failed.outputs).toEqual([]);
  });
});

describe("heartbeats and reconnects", () => {
  it("a heartbeat renews the leases it names and aborts the attempts whose lease is gone", async () => {
    const { agentId, agent } = await s.newAgent();
    const unknown = await endedAttempt(agent);
    const { attemptId } = await s.running(agent);
    s.advance(1000);
    await s.heartbeat(agent, agentId, [attemptId, unknown]);
    expect(await agent.next("attempt.abort")).toEqual({ type: "attempt.abort", attempt_id: unknown, reason: "lease_lost" });
    expect(await agent.next("heartbeat.ack")).toEqual({ type: "heartbeat.ack" });
    expect((await s.gw.ctx.leases.get(attemptId))?.expiresAt).toBe(s.now + s.env.config.leaseTtlSeconds * 1000);
  });

  it("a running attempt whose agent keeps heartbeating outlives many lease TTLs", async () => {
    const { agentId, agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    // Unrenewed, this attempt's lease would run out before the sentinel's.
    const sentinel = await sentinelLease();
    for (let i = 0; i < 5; i++) {
      s.advance(2000);
      await s.heartbeat(agent, agentId, [attemptId]);
    }
    await s.jobIn(sentinel.jobId, "FAILED");
    expect((await s.job(jobId)).state).toBe("RUNNING");
    expect(agent.all("attempt.abort")).toEqual([]);
  });

  it("an agent that reconnects keeps the attempts whose lease holds and is told to abort the rest", async () => {
    const { credential, agent } = await s.newAgent();
    const stale = await endedAttempt(agent);
    const { jobId, attemptId } = await s.running(agent);
    agent.terminate();
    s.advance(1000);
    const again = await s.connect("/v1/agent", credential);
    again.hello({ running: [attemptId, stale] });
    await again.next("welcome");
    expect(await again.next("attempt.abort")).toEqual({ type: "attempt.abort", attempt_id: stale, reason: "lease_lost" });
    expect((await s.gw.ctx.leases.get(attemptId))?.expiresAt).toBe(s.now + s.env.config.leaseTtlSeconds * 1000);
    await afterGatewayAnswered(again, [attemptId]);
    expect(again.all("attempt.abort").map((m) => m.attempt_id)).toEqual([stale]);
    expect((await s.job(jobId)).state).toBe("RUNNING");
  });

  it("an agent that restarted fails its started attempt with agent_restarted at once", async () => {
    const { credential, agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    agent.terminate();
    const again = await s.connect("/v1/agent", credential);
    again.hello({ restarted: true, running: [] });
    await again.next("welcome");
    const failed = await s.jobIn(jobId, "FAILED");
    expect(failed.attempts[0]).toMatchObject({ id: attemptId, error: { code: "agent_restarted" } });
    expect(failed.history.at(-1)?.cause).toBe("agent_restarted");
  });

  it("an agent that restarted gets its never-started assignment handed back", async () => {
    const { agentId, credential, agent } = await s.newAgent();
    const { jobId, attemptId } = await s.assignedTo(agent);
    agent.terminate();
    const again = await s.connect("/v1/agent", credential);
    again.hello({ restarted: true, running: [] });
    await again.next("welcome");
    const second = await again.next("attempt.assign", (m) => m.job_id === jobId, 10_000);
    expect(second.attempt_id).not.toBe(attemptId);
    const j = await s.job(jobId);
    expect(j.attempts.map((a) => [a.state, a.agent_id])).toEqual([["EXPIRED", agentId], ["ASSIGNED", agentId]]);
    expect(j.history.map((h) => h.cause)).toContain("lease_expired_before_start");
  });
});

describe("lost leases", () => {
  it("a never-started assignment whose lease expires goes back to PENDING and is handed out again", async () => {
    const { agentId, agent } = await s.newAgent();
    const { jobId, attemptId } = await s.assignedTo(agent);
    // The agent stays present (heartbeats) but never asks to start.
    s.advance(2000);
    await s.heartbeat(agent, agentId);
    s.advance(2000);
    expect(await agent.next("attempt.abort", (m) => m.attempt_id === attemptId, 10_000)).toMatchObject({ reason: "lease_lost" });
    const second = await agent.next("attempt.assign", (m) => m.job_id === jobId && m.attempt_id !== attemptId, 10_000);
    const j = await s.job(jobId);
    expect(j.attempts.map((a) => [a.id, a.state])).toEqual([[attemptId, "EXPIRED"], [second.attempt_id, "ASSIGNED"]]);
    expect(j.history.map((h) => `${h.state}:${h.cause}`)).toEqual([
      "PENDING:submitted", "ASSIGNED:assigned", "PENDING:lease_expired_before_start", "ASSIGNED:assigned",
    ]);
  });

  it("a never-started assignment of a vanished agent waits PENDING when no other agent is there", async () => {
    const { agentId, agent } = await s.newAgent();
    const { jobId, attemptId } = await s.assignedTo(agent);
    agent.terminate();
    await waitFor(async () => (await s.agentStatus(agentId)) === "OFFLINE", 10_000, "agent OFFLINE");
    s.advance(s.env.config.leaseTtlSeconds * 1000 + 1);
    const j = await waitFor(async () => {
      const v = await s.job(jobId);
      return v.history.some((h) => h.cause === "lease_expired_before_start") ? v : null;
    }, 10_000, "lease to be reaped");
    expect(j.state).toBe("PENDING");
    expect(j.attempts).toEqual([expect.objectContaining({ id: attemptId, state: "EXPIRED" })]);
    await afterSchedulerTriedOlderJobs();
    expect((await s.job(jobId)).state).toBe("PENDING");
    expect((await s.job(jobId)).attempts).toHaveLength(1);
  });

  it("a started attempt whose agent vanished is FAILED with cause lease_expired and not re-run", async () => {
    const lost = await s.newAgent();
    const { jobId, attemptId } = await s.running(lost.agent);
    // An idle agent that fits the job is there when the lease runs out.
    const idle = await s.newAgent();
    lost.agent.terminate();
    await waitFor(async () => (await s.agentStatus(lost.agentId)) === "OFFLINE", 10_000, "lost agent OFFLINE");
    s.advance(2000);
    await s.heartbeat(idle.agent, idle.agentId);
    s.advance(2000);
    const failed = await s.jobIn(jobId, "FAILED");
    expect(failed.attempts).toEqual([expect.objectContaining({ id: attemptId, state: "FAILED", error: { code: "lease_expired", message: expect.any(String) } })]);
    expect(failed.history.at(-1)).toMatchObject({ state: "FAILED", cause: "lease_expired" });
    await afterSchedulerTriedOlderJobs();
    expect((await s.job(jobId)).attempts).toHaveLength(1);
    // And the idle agent is handed a later job, with no re-run of the older one before it.
    const later = await s.assignedTo(idle.agent);
    expect(idle.agent.all("attempt.assign").map((m) => m.job_id)).toEqual([later.jobId]);
    expect(await s.agentStatus(idle.agentId)).toBe("ONLINE");
  });

  it("a started attempt with max_attempts 2 whose lease expires is re-queued to another agent", async () => {
    const lost = await s.newAgent();
    const { jobId, attemptId } = await s.running(lost.agent, { max_attempts: 2 });
    lost.agent.terminate();
    await waitFor(async () => (await s.agentStatus(lost.agentId)) === "OFFLINE", 10_000, "lost agent OFFLINE");
    s.advance(s.env.config.leaseTtlSeconds * 1000 + 1);
    await waitFor(async () => (await s.job(jobId)).history.some((h) => h.cause === "requeued"), 10_000, "requeue");
    const next = await s.newAgent();
    const assign = await next.agent.next("attempt.assign", (m) => m.job_id === jobId, 10_000);
    expect(assign.attempt_id).not.toBe(attemptId);
  });
});

describe("cancel", () => {
  async function cancel(jobId: string) {
    expect(await requestCancel(s.pool, jobId, new Date(s.now))).toBe("requested");
    await appendEntry(s.gw.ctx.redis, s.gw.ctx.streams.jobs, { type: "job.cancel_requested", job_id: jobId, data: { by: "alice" } });
  }

  it("canceling a running job tells the agent, and its canceled report ends the job CANCELED", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    await cancel(jobId);
    expect(await agent.next("attempt.cancel", undefined, 10_000)).toEqual({ type: "attempt.cancel", attempt_id: attemptId, reason: "canceled" });
    agent.send({ type: "attempt.finished", attempt_id: attemptId, outcome: "canceled", exit_code: null, error: { code: "canceled", message: "killed" }, outputs: [] });
    const canceled = await s.jobIn(jobId, "CANCELED");
    expect(canceled.history.at(-1)?.cause).toBe("canceled");
  });

  it("canceling an assignment that never started ends it at once, and a later start is refused", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.assignedTo(agent);
    await cancel(jobId);
    expect(await agent.next("attempt.cancel", undefined, 10_000)).toMatchObject({ attempt_id: attemptId, reason: "canceled" });
    const canceled = await s.jobIn(jobId, "CANCELED");
    expect(canceled.attempts[0]?.state).toBe("CANCELED");
    agent.send({ type: "attempt.start_request", attempt_id: attemptId });
    expect(await agent.next("attempt.abort")).toMatchObject({ attempt_id: attemptId, reason: "start_refused" });
    expect(agent.all("attempt.start_granted")).toEqual([]);
  });
});
