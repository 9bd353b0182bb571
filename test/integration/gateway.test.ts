import { describe, expect, it } from "vitest";
import { CLOSE_CODES } from "@labbridge/protocol";
import { listAudit } from "@labbridge/store";
import { waitFor } from "../harness/test_env.ts";
import { CapturedLog } from "./captured_log.ts";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";
import { ScriptedAgent } from "./ws_agent.ts";

// Agent sessions on the gateway: enrollment, authentication at the upgrade, hello and
// welcome, frames checked at the edge, presence and heartbeats, admin actions, metrics.

let s: GatewayStack;
let log: CapturedLog;
stackPerTest((stack) => (s = stack), () => ({ gatewayLog: (log = new CapturedLog()).logger }));

describe("enrollment", () => {
  it("an enrollment token becomes an agent credential, with the token's labels winning", async () => {
    const socket = await s.connect("/v1/enroll", await s.enrollmentToken({ lab: "b201" }));
    socket.send({ type: "enroll", name: "ws-b201-07", hostname: "WS-B201-07", os: "windows", labels: { lab: "forged", gpu: "rtx4090" } });
    const enrolled = await socket.next("enrolled");
    expect(enrolled.agent_id).toMatch(/^agt_[0-9A-Z]{26}$/);
    expect(enrolled.credential).toMatch(/^lba_/);
    expect(await socket.waitClosed()).toEqual({ code: CLOSE_CODES.normal, reason: "enrolled" });
    const row = await s.agentRow(enrolled.agent_id);
    expect(row).toMatchObject({ name: "ws-b201-07", os: "windows", status: "OFFLINE" });
    expect(JSON.parse(row!.labels)).toEqual({ lab: "b201", gpu: "rtx4090" });
    // The use of the token is on the audit trail, committed with the enrollment, naming the session.
    const used = (await listAudit(s.pool)).filter((r) => r.action === "enrollment_token.used");
    expect(used.map((r) => [r.actor, r.role, r.target_type, r.result])).toEqual([[enrolled.agent_id, "agent", "enrollment_token", "ok"]]);
    expect(used[0]!.request_id).toMatch(/^ses_[0-9A-Z]{26}$/);
  });

  it("reusing an enrollment token is refused with close code 4401", async () => {
    const token = await s.enrollmentToken();
    const first = await s.connect("/v1/enroll", token);
    first.send({ type: "enroll", name: "a", hostname: "a", os: "linux", labels: {} });
    await first.next("enrolled");
    const second = await s.connect("/v1/enroll", token);
    second.send({ type: "enroll", name: "b", hostname: "b", os: "linux", labels: {} });
    expect(await second.next("error")).toMatchObject({ code: "invalid_token" });
    expect((await second.waitClosed()).code).toBe(CLOSE_CODES.unauthorized);
    expect(second.all("enrolled")).toEqual([]);
  });

  it("an expired enrollment token is refused with close code 4401", async () => {
    const token = await s.enrollmentToken({}, 60);
    s.advance(61_000);
    const socket = await s.connect("/v1/enroll", token);
    socket.send({ type: "enroll", name: "a", hostname: "a", os: "linux", labels: {} });
    expect((await socket.waitClosed()).code).toBe(CLOSE_CODES.unauthorized);
  });

  it("enrolling without a bearer token is refused with close code 4401", async () => {
    const socket = await s.connect("/v1/enroll");
    expect((await socket.waitClosed()).code).toBe(CLOSE_CODES.unauthorized);
  });

  it("an enrollment connection takes nothing but an enroll frame", async () => {
    const socket = await s.connect("/v1/enroll", await s.enrollmentToken());
    socket.hello();
    expect((await socket.waitClosed()).code).toBe(CLOSE_CODES.malformed);
  });
});

describe("agent sessions", () => {
  it("connecting without a token, with a wrong credential or with an enrollment token closes with 4401; each refused credential is audited", async () => {
    for (const token of [undefined, "lba_wrong", await s.enrollmentToken()]) {
      const socket = await s.connect("/v1/agent", token);
      expect((await socket.waitClosed()).code, String(token)).toBe(CLOSE_CODES.unauthorized);
      expect(socket.all("welcome")).toEqual([]);
    }
    const rows = await listAudit(s.pool);
    expect(rows).toEqual([1, 2].map(() => expect.objectContaining({
      actor: "unknown", role: "anonymous", action: "agent.credential_refused", target_id: null, result: "unknown",
    })));
    expect(JSON.stringify(rows)).not.toContain("lba_wrong");
  });

  it("hello is answered with welcome carrying the configured heartbeat intervals (busy and idle) and lease TTL, and the agent is ONLINE", async () => {
    const { agentId, credential } = await s.enroll();
    const agent = await s.connect("/v1/agent", credential);
    agent.hello({ os: "linux", hostname: "lab-host", gpus: [{ name: "RTX 4090", memory_mb: 24564 }] });
    const welcome = await agent.next("welcome");
    expect(welcome).toEqual({
      type: "welcome", agent_id: agentId, session_id: expect.stringMatching(/^ses_/),
      heartbeat_seconds: s.env.config.heartbeatSeconds, idle_heartbeat_seconds: s.env.config.idleHeartbeatSeconds,
      lease_ttl_seconds: s.env.config.leaseTtlSeconds,
      // This hello offered no frame compression, so none is agreed (gateway_compressed_frames.test.ts).
      compression: null,
      // The agent measures its clock skew from this (gateway_telemetry.test.ts checks the value).
      server_time_ms: expect.any(Number),
    });
    expect([welcome.heartbeat_seconds, welcome.idle_heartbeat_seconds, welcome.lease_ttl_seconds]).toEqual([0.5, 1.5, 3]);
    const row = await waitFor(async () => {
      const r = await s.agentRow(agentId);
      return r?.status === "ONLINE" ? r : null;
    }, 10_000, "agent ONLINE");
    expect(row).toMatchObject({ gateway_id: s.env.config.gatewayId, session_id: welcome.session_id, hostname: "lab-host" });
    // An agent that sends no index (older ones) gets its GPUs' positions as indices.
    expect(JSON.parse(row.gpus)).toEqual([{ index: 0, name: "RTX 4090", memory_mb: 24564 }]);
  });

  it("a first frame other than hello closes the connection with 4400", async () => {
    const { credential } = await s.enroll();
    const agent = await s.connect("/v1/agent", credential);
    agent.send({ type: "heartbeat", running: [] });
    expect((await agent.waitClosed()).code).toBe(CLOSE_CODES.malformed);
  });

  it("malformed JSON, an unknown frame type, a bad field and a binary frame each close the connection with 4400", async () => {
    const { credential } = await s.enroll();
    const frames: [string | Buffer, boolean][] = [
      ["{not json", false],
      [JSON.stringify({ type: "rm -rf" }), false],
      [JSON.stringify({ type: "heartbeat", running: ["../../etc"] }), false],
      [Buffer.from([1, 2, 3]), true],
    ];
    for (const [frame, binary] of frames) {
      const { agent } = await s.online(credential);
      agent.sendRaw(frame, binary);
      expect((await agent.waitClosed()).code, String(frame)).toBe(CLOSE_CODES.malformed);
      expect(agent.all("error")).toEqual([expect.objectContaining({ code: "validation_failed" })]);
    }
  });

  it("a frame over 64 KiB closes the connection with the too_large code 4413", async () => {
    const { credential } = await s.enroll();
    const { agent } = await s.online(credential);
    agent.sendRaw(JSON.stringify({ type: "heartbeat", running: [], pad: "x".repeat(70 * 1024) }));
    expect((await agent.waitClosed()).code).toBe(CLOSE_CODES.too_large);
  });

  it("a stolen credential used while the agent is healthy is refused with 4409 and audited, and the agent keeps its session", async () => {
    const { agentId, credential, agent, welcome } = await s.newAgent();
    s.advance(400);
    await s.heartbeat(agent, agentId);
    const thief = await s.connect("/v1/agent", credential);
    thief.hello({ hostname: "thief", os: "linux" });
    expect(await thief.waitClosed()).toEqual({ code: CLOSE_CODES.replaced, reason: "credential in use by a healthy session" });
    expect(thief.all("error")).toEqual([expect.objectContaining({ code: "forbidden", message: expect.stringContaining("in use by a healthy session") })]);
    expect(thief.all("welcome")).toEqual([]);
    const rows = await waitFor(async () => {
      const r = await listAudit(s.pool, { targetId: agentId });
      return r.length > 0 ? r : null;
    }, 5000, "audit row");
    expect(rows).toEqual([expect.objectContaining({
      actor: agentId, role: "agent", action: "agent.session_refused", target_type: "agent", target_id: agentId, result: "refused",
      request_id: expect.stringMatching(/^ses_/),
      details: expect.objectContaining({ current_session_id: welcome.session_id, claimed_hostname: "thief", remote_address: expect.any(String) }),
    })]);
    // The real agent is untouched: same session, still heartbeating, and commands reach it.
    expect((await s.gw.ctx.presence.session(agentId))?.sessionId).toBe(welcome.session_id);
    s.advance(400);
    await s.heartbeat(agent, agentId);
    expect(agent.isOpen).toBe(true);
    expect(await s.agentRow(agentId)).toMatchObject({ status: "ONLINE", session_id: welcome.session_id });
    expect((await s.assignedTo(agent)).attemptId).toMatch(/^att_/);
  });

  it("the same credential after two silent heartbeat intervals replaces the session, whose socket is closed with 4409", async () => {
    const { agentId, credential, agent: first, welcome: firstWelcome } = await s.newAgent();
    // The agent holds no attempt: its session beats at the idle interval (gateway_idle_heartbeat.test.ts has the busy one).
    const silentMs = 2 * s.env.config.idleHeartbeatSeconds * 1000;
    s.advance(silentMs - 1);
    const early = await s.connect("/v1/agent", credential);
    early.hello();
    expect((await early.waitClosed()).code).toBe(CLOSE_CODES.replaced);
    s.advance(1);
    const { welcome } = await s.online(credential);
    expect((await first.waitClosed()).code).toBe(CLOSE_CODES.replaced);
    // The old socket's close must not knock the new session out: once the gateway has
    // handled it (its log line comes after any agent.offline it would append), presence
    // is still the new session's and no agent.offline was sent.
    await waitFor(() => log.withMsg("agent disconnected").some((l) => l.session_id === firstWelcome.session_id), 5000, "old socket's close handled");
    expect((await s.gw.ctx.presence.session(agentId))?.sessionId).toBe(welcome.session_id);
    expect((await s.entries(s.gw.ctx.streams.agentEvents)).filter((e) => e.type === "agent.offline")).toEqual([]);
    expect(await s.agentRow(agentId)).toMatchObject({ status: "ONLINE", session_id: welcome.session_id });
  });

  it("an agent that closed its socket cleanly gets back in at once", async () => {
    const { agentId, credential, agent } = await s.newAgent();
    await agent.close();
    await waitFor(async () => (await s.gw.ctx.presence.session(agentId)) === null, 5000, "presence removed");
    const { welcome } = await s.online(credential);
    expect((await s.gw.ctx.presence.session(agentId))?.sessionId).toBe(welcome.session_id);
  });

  it("a socket that closes while its hello's claim is in flight leaves no presence behind, so its reconnect is let in at once", async () => {
    const { agentId, credential } = await s.enroll();
    const presence = s.gw.ctx.presence;
    const realClaim = presence.claim.bind(presence);
    let agent: ScriptedAgent | null = null;
    let claimed = false;
    // The real claim, then the socket goes away before the hello goes on: the window a storm's cut sockets fall into.
    presence.claim = async (...args) => {
      const result = await realClaim(...args);
      agent!.terminate();
      await waitFor(async () => s.gw.ctx.admission.counts.open === 0, 5000, "the gateway saw the socket close");
      claimed = true;
      return result;
    };
    agent = await s.connect("/v1/agent", credential);
    agent.hello();
    await waitFor(async () => claimed && (await presence.session(agentId)) === null, 5000, "the claim of the closed socket released");
    presence.claim = realClaim;
    expect(s.gw.ctx.sessions.size).toBe(0);
    const { welcome } = await s.online(credential);
    expect((await presence.session(agentId))?.sessionId).toBe(welcome.session_id);
  });

  it("two hellos racing with one credential: exactly one is welcomed, the other is refused with 4409", async () => {
    const { agentId, credential } = await s.enroll();
    const racers = await Promise.all([s.connect("/v1/agent", credential), s.connect("/v1/agent", credential)]);
    for (const r of racers) r.hello();
    const outcomes = await Promise.all(racers.map((r) => r.next("welcome").then((w) => w.session_id, () => null)));
    const winners = outcomes.filter((o) => o !== null);
    expect(winners).toHaveLength(1);
    const loser = racers[outcomes.indexOf(null)]!;
    expect((await loser.waitClosed()).code).toBe(CLOSE_CODES.replaced);
    expect((await s.gw.ctx.presence.session(agentId))?.sessionId).toBe(winners[0]);
    expect(racers[outcomes.indexOf(winners[0]!)]!.isOpen).toBe(true);
  });

  it("an agent that closes its socket is OFFLINE", async () => {
    const { agentId, agent } = await s.newAgent();
    await agent.close();
    await waitFor(async () => (await s.agentStatus(agentId)) === "OFFLINE", 10_000, "agent OFFLINE");
    expect(await s.gw.ctx.presence.session(agentId)).toBeNull();
  });

  it("sockets cut at once: every agent OFFLINE, every presence gone, and each gets back in at once", async () => {
    const agents = await Promise.all(Array.from({ length: 6 }, () => s.newAgent()));
    for (const a of agents) a.agent.terminate();
    for (const a of agents) {
      await waitFor(async () => (await s.agentStatus(a.agentId)) === "OFFLINE", 10_000, `${a.agentId} OFFLINE`);
      expect(await s.gw.ctx.presence.session(a.agentId)).toBeNull();
    }
    const back = await Promise.all(agents.map((a) => s.online(a.credential)));
    for (const [i, b] of back.entries()) expect((await s.gw.ctx.presence.session(agents[i]!.agentId))?.sessionId).toBe(b.welcome.session_id);
  });

  it("an agent that stops heartbeating turns OFFLINE and its next heartbeat is told to reconnect at once (1001)", async () => {
    const { agentId, agent } = await s.newAgent();
    // Idle: its presence lasts three idle intervals (at least the lease TTL).
    s.advance(Math.max(s.env.config.leaseTtlSeconds, 3 * s.env.config.idleHeartbeatSeconds) * 1000 + 1);
    await waitFor(async () => (await s.agentStatus(agentId)) === "OFFLINE", 10_000, "agent OFFLINE");
    agent.send({ type: "heartbeat", running: [] });
    expect((await agent.waitClosed()).code).toBe(CLOSE_CODES.going_away);
  });

  it("an agent that keeps heartbeating stays ONLINE past the lease TTL", async () => {
    const { agentId, agent } = await s.newAgent();
    // Connected at the same time and then silent: once the reaper has marked it OFFLINE, a
    // pass has looked at both agents after the clock moved.
    const { agentId: silentId } = await s.newAgent();
    for (let i = 0; i < 4; i++) {
      s.advance(2000);
      await s.heartbeat(agent, agentId);
    }
    await waitFor(async () => (await s.agentStatus(silentId)) === "OFFLINE", 10_000, "the silent agent OFFLINE");
    expect(await s.agentStatus(agentId)).toBe("ONLINE");
    expect(agent.isOpen).toBe(true);
  });

  it("a stopping gateway tells its agents to reconnect with close code 1001", async () => {
    const { agent } = await s.newAgent();
    await s.closeGateway();
    expect((await agent.waitClosed()).code).toBe(CLOSE_CODES.going_away);
  });

  it("an agent sent away by a stopping gateway is let into another gateway at once, not refused as a second session", async () => {
    const other = await s.anotherGateway();
    const { agentId, credential, agent } = await s.newAgent();
    s.advance(400);
    await s.heartbeat(agent, agentId);
    const stopping = s.closeGateway();
    expect((await agent.waitClosed()).code).toBe(CLOSE_CODES.going_away);
    // The session was released before the agent was told to go, as a real agent reconnects within 250 ms.
    expect(await s.gw.ctx.presence.session(agentId)).toBeNull();
    const again = await ScriptedAgent.connect(`ws://127.0.0.1:${other.port}/v1/agent`, credential);
    again.hello();
    expect((await again.next("welcome")).agent_id).toBe(agentId);
    expect(again.isOpen).toBe(true);
    await stopping;
    again.terminate();
  });

  it("serves /healthz, /readyz and byte counters on /metrics that grow with agent traffic", async () => {
    const http = `http://127.0.0.1:${s.gw.port}`;
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
    const ready = await fetch(`${http}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { ready: true, redis: true, mysql: true }]);
    const text = await (await fetch(`${http}/metrics`)).text();
    expect(text).toContain("# TYPE lb_gateway_ws_received_bytes_total counter");
    expect(text).toContain("# TYPE lb_gateway_ws_sent_bytes_total counter");
    const received = await s.metric("lb_gateway_ws_received_bytes_total");
    const sent = await s.metric("lb_gateway_ws_sent_bytes_total");
    const { agentId, agent } = await s.newAgent();
    await s.heartbeat(agent, agentId, []);
    expect(await s.metric("lb_gateway_ws_received_bytes_total")).toBeGreaterThan(received + 100);
    expect(await s.metric("lb_gateway_ws_sent_bytes_total")).toBeGreaterThan(sent + 100);
    expect(await s.metric("lb_gateway_connected_agents")).toBe(1);
    await agent.close();
    await waitFor(async () => (await s.metric("lb_gateway_connected_agents")) === 0, 5000, "gauge to drop");
  });
});

describe("admin actions through the API", () => {
  const admin = (port: number) => (method: string, path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { authorization: `Bearer ${s.env.config.adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it("revoking an agent closes its socket with 4403, its credential then gets 4403 at the upgrade, and the refusal is audited", async () => {
    const call = admin((await s.startApi()).port);
    const { agentId, credential, agent } = await s.newAgent();
    expect((await call("DELETE", `/v1/agents/${agentId}`)).status).toBe(204);
    expect((await agent.waitClosed()).code).toBe(CLOSE_CODES.revoked);
    const again = await s.connect("/v1/agent", credential);
    expect((await again.waitClosed()).code).toBe(CLOSE_CODES.revoked);
    expect(again.all("error")).toEqual([expect.objectContaining({ code: "forbidden" })]);
    await waitFor(async () => (await s.agentStatus(agentId)) === "OFFLINE", 5000, "revoked agent OFFLINE");
    // The admin's revoke (committed with it) comes first, then the gateway's refusal of the credential.
    expect(await listAudit(s.pool, { targetId: agentId })).toEqual([
      expect.objectContaining({ actor: "admin", role: "admin", action: "agent.revoked", target_id: agentId, result: "ok" }),
      expect.objectContaining({ actor: agentId, role: "agent", action: "agent.credential_refused", target_id: agentId, result: "revoked" }),
    ]);
  });

  it("a paused agent is told so and gets no new work until resumed", async () => {
    const call = admin((await s.startApi()).port);
    const { agentId, agent } = await s.newAgent({ role: "paused" });
    expect((await call("POST", `/v1/agents/${agentId}/pause`, { reason: "someone is using the GPU" })).status).toBe(202);
    expect(await agent.next("agent.pause")).toEqual({ type: "agent.pause", reason: "someone is using the GPU", until: null });
    const jobId = await s.submit({ requirements: { labels: { role: "paused" } } });
    // A later job for another agent is assigned only after the scheduler went past the older one.
    const { agent: other } = await s.newAgent({ role: "other" });
    const later = await s.submit({ requirements: { labels: { role: "other" } } });
    expect((await other.next("attempt.assign", undefined, 10_000)).job_id).toBe(later);
    expect((await s.job(jobId)).state).toBe("PENDING");
    expect(agent.all("attempt.assign")).toEqual([]);
    expect((await call("POST", `/v1/agents/${agentId}/resume`)).status).toBe(202);
    // The first resume came with the welcome (not paused then); this one is the API's.
    await waitFor(async () => agent.all("agent.resume").length === 2, 5000, "the API's resume");
    expect((await agent.next("attempt.assign", undefined, 10_000)).job_id).toBe(jobId);
  });

  it("pausing with stop_running cancels the agent's running attempt", async () => {
    const call = admin((await s.startApi()).port);
    const { agentId, agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    expect((await call("POST", `/v1/agents/${agentId}/pause`, { reason: "exam", stop_running: true })).status).toBe(202);
    await agent.next("agent.pause");
    expect(await agent.next("attempt.cancel", undefined, 10_000)).toEqual({ type: "attempt.cancel", attempt_id: attemptId, reason: "canceled" });
    agent.send({ type: "attempt.finished", attempt_id: attemptId, outcome: "canceled", exit_code: null, error: null, outputs: [] });
    await s.jobIn(jobId, "CANCELED");
    expect(await listAudit(s.pool, { targetId: jobId })).toEqual([expect.objectContaining({
      actor: "admin", action: "job.cancel_requested", result: "ok", details: { cause: "agent_paused", agent_id: agentId },
    })]);
  });
});
