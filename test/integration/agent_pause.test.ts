import { describe, expect, it } from "vitest";
import { freeAgents, listAudit } from "@labbridge/store";
import { waitFor } from "../harness/test_env.ts";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";

// An agent's pause by source (API.md "Agents": pause): the pause the agent holds by itself
// (its owner's `agent pause`, or yielding to the workstation's user) reaches MySQL through
// agent.pause_state, is shown by the API with its source, announced on agent-events and
// audited once per change; the API's own pause has an end and is told at every hello.

let s: GatewayStack;
stackPerTest((stack) => (s = stack));

const admin = (port: number) => async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${s.env.config.adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
};

describe("an agent's own pause", () => {
  it("a gpu_busy pause is stored, shown with its source, announced once on agent-events and audited; its lifting likewise", async () => {
    const call = admin((await s.startApi()).port);
    const { agentId, agent } = await s.newAgent();
    const gpuBusy = { source: "gpu_busy", reason: "GPU 0: 2 other processes use 70824 MB", until: null };
    agent.send({ type: "agent.pause_state", pause: gpuBusy });
    await waitFor(async () => (await s.agentRow(agentId))?.agent_pause !== null, 5000, "agent_pause stored");
    // Sent again after a reconnect: nothing changes, nothing is announced twice.
    agent.send({ type: "agent.pause_state", pause: gpuBusy });
    const view = await call("GET", `/v1/agents/${agentId}`);
    expect(view.body).toMatchObject({ paused: true, pause_reason: gpuBusy.reason, pause: gpuBusy });
    expect((await freeAgents(s.pool)).map((a) => a.id)).not.toContain(agentId);

    agent.send({ type: "agent.pause_state", pause: null });
    await waitFor(async () => (await s.agentRow(agentId))?.agent_pause === null, 5000, "agent_pause cleared");
    expect((await call("GET", `/v1/agents/${agentId}`)).body).toMatchObject({ paused: false, pause_reason: null, pause: null });
    expect((await freeAgents(s.pool)).map((a) => a.id)).toContain(agentId);

    const events = (await s.entries(s.gw.ctx.streams.agentEvents)).filter((e) => e.type === "agent.paused" || e.type === "agent.resumed");
    expect(events.map((e) => [e.type, JSON.parse(e.data!).source, JSON.parse(e.data!).by])).toEqual([
      ["agent.paused", "gpu_busy", "agent"], ["agent.resumed", "gpu_busy", "agent"],
    ]);
    const audit = (await listAudit(s.pool, { targetId: agentId })).filter((r) => r.action.startsWith("agent."));
    expect(audit.map((r) => [r.action, r.role, r.details.source])).toEqual([["agent.paused", "agent", "gpu_busy"], ["agent.resumed", "agent", "gpu_busy"]]);
  });

  it("a self-paused agent gets no new work; it gets the job once the pause is lifted", async () => {
    const { agentId, agent } = await s.newAgent({ role: "owner-paused" });
    agent.send({ type: "agent.pause_state", pause: { source: "local", reason: "demo at 3", until: null } });
    await waitFor(async () => (await s.agentRow(agentId))?.agent_pause !== null, 5000, "agent_pause stored");
    const jobId = await s.submit({ requirements: { labels: { role: "owner-paused" } } });
    const { agent: other } = await s.newAgent({ role: "other" });
    const later = await s.submit({ requirements: { labels: { role: "other" } } });
    expect((await other.next("attempt.assign", undefined, 10_000)).job_id).toBe(later);
    expect(agent.all("attempt.assign")).toEqual([]);
    expect((await s.job(jobId)).queue?.reason).toBe("agents_paused");
    agent.send({ type: "agent.pause_state", pause: null });
    expect((await agent.next("attempt.assign", undefined, 10_000)).job_id).toBe(jobId);
  });

  it("an assignment handed back with agent_paused goes back to the queue instead of failing", async () => {
    const { agentId, agent } = await s.newAgent({ role: "racing" });
    const { jobId, attemptId } = await s.assignedTo(agent, { requirements: { labels: { role: "racing" } } });
    agent.send({ type: "agent.pause_state", pause: { source: "user_active", reason: "someone is using the workstation", until: null } });
    agent.send({
      type: "attempt.finished", attempt_id: attemptId, outcome: "failed", exit_code: null,
      error: { code: "agent_paused", message: "agent is paused (user_active) and starts no new job" }, outputs: [],
    });
    await waitFor(async () => (await s.job(jobId)).state === "PENDING", 10_000, "job back to PENDING");
    const job = await s.job(jobId);
    expect(job.attempts.map((a) => a.state)).not.toContain("FAILED");
    expect((await s.agentRow(agentId))?.agent_pause).not.toBeNull();
  });

  it("a frame with a source the agent does not own (api) is refused at the edge", async () => {
    const { agent } = await s.newAgent();
    agent.send({ type: "agent.pause_state", pause: { source: "api", reason: "x", until: null } });
    expect((await agent.next("error")).code).toBe("validation_failed");
  });
});

describe("the API's pause", () => {
  it("has an end: until is shown and sent to the agent, and the pause no longer holds after it", async () => {
    const call = admin((await s.startApi()).port);
    const { agentId, agent } = await s.newAgent();
    const until = new Date(s.now + 3_600_000).toISOString();
    expect((await call("POST", `/v1/agents/${agentId}/pause`, { reason: "exam week", until })).status).toBe(202);
    expect(await agent.next("agent.pause")).toEqual({ type: "agent.pause", reason: "exam week", until });
    expect((await call("GET", `/v1/agents/${agentId}`)).body).toMatchObject({ paused: true, pause: { source: "api", reason: "exam week", until } });
    s.advance(3_600_001);
    expect((await call("GET", `/v1/agents/${agentId}`)).body).toMatchObject({ paused: false, pause: null });
    const past = await call("POST", `/v1/agents/${agentId}/pause`, { until: new Date(s.now - 1000).toISOString() });
    expect(past.status).toBe(422);
  });

  it("wins over the agent's own pause in the view, and each is lifted on its own", async () => {
    const call = admin((await s.startApi()).port);
    const { agentId, agent } = await s.newAgent();
    agent.send({ type: "agent.pause_state", pause: { source: "local", reason: "demo", until: null } });
    await waitFor(async () => (await s.agentRow(agentId))?.agent_pause !== null, 5000, "agent_pause stored");
    await call("POST", `/v1/agents/${agentId}/pause`, { reason: "maintenance" });
    expect((await call("GET", `/v1/agents/${agentId}`)).body).toMatchObject({ pause: { source: "api", reason: "maintenance" } });
    await call("POST", `/v1/agents/${agentId}/resume`);
    expect((await call("GET", `/v1/agents/${agentId}`)).body).toMatchObject({ paused: true, pause: { source: "local", reason: "demo", until: null } });
  });

  it("is told at every hello as it stands: a pause, or a resume that clears one lifted while the agent was away", async () => {
    const call = admin((await s.startApi()).port);
    const { agentId, credential, agent } = await s.newAgent();
    expect(agent.all("agent.resume")).toHaveLength(1);
    await call("POST", `/v1/agents/${agentId}/pause`, { reason: "maintenance" });
    await agent.next("agent.pause");
    await agent.close();
    const { agent: back } = await s.online(credential);
    expect(await back.next("agent.pause")).toEqual({ type: "agent.pause", reason: "maintenance", until: null });
  });
});
