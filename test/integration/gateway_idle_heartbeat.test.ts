import { describe, expect, it } from "vitest";
import { CLOSE_CODES } from "@labbridge/protocol";
import { redisKeys } from "@labbridge/streams";
import { waitFor } from "../harness/test_env.ts";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";

// The idle heartbeat on a real gateway, scheduler and reaper (decision 0028): a session
// holding no attempt beats at the idle interval and its presence lasts three of them; one
// that names attempts is back on the busy interval and the lease TTL at once. The test
// environment: heartbeat 0.5 s, idle heartbeat 1.5 s, lease TTL 3 s, so an idle
// presence lasts 4.5 s and a busy one 3 s.

let s: GatewayStack;
stackPerTest((stack) => (s = stack));

const busyMs = () => s.env.config.heartbeatSeconds * 1000;
const idleMs = () => s.env.config.idleHeartbeatSeconds * 1000;
const leaseTtlMs = () => s.env.config.leaseTtlSeconds * 1000;
const idleTtlMs = () => Math.max(leaseTtlMs(), 3 * idleMs());
const presenceScore = async (agentId: string) => Number(await s.gw.ctx.redis.zscore(redisKeys(s.env.config.prefix).presence, agentId));

describe("the idle heartbeat, gateway side", () => {
  it("an idle agent's session is recorded at the idle interval, with presence for three idle intervals", async () => {
    expect(idleTtlMs()).toBeGreaterThan(leaseTtlMs());
    const { agentId } = await s.newAgent();
    expect((await s.gw.ctx.presence.session(agentId))?.intervalMs).toBe(idleMs());
    expect(await presenceScore(agentId)).toBe(s.now + idleTtlMs());
  });

  it("a heartbeat that names attempts moves the session to the busy window and the lease TTL; one that names none moves it back", async () => {
    const { agentId, agent } = await s.newAgent();
    const { attemptId } = await s.assignedTo(agent);
    s.advance(100);
    await s.heartbeat(agent, agentId, []);
    expect((await s.gw.ctx.presence.session(agentId))?.intervalMs).toBe(idleMs());
    expect(await presenceScore(agentId)).toBe(s.now + idleTtlMs());
    s.advance(100);
    await s.heartbeat(agent, agentId, [attemptId]);
    expect((await s.gw.ctx.presence.session(agentId))?.intervalMs).toBe(busyMs());
    expect(await presenceScore(agentId)).toBe(s.now + leaseTtlMs());
  });

  it("an assignment delivered to an idle session moves it to the busy window at once, before any heartbeat names it", async () => {
    const { agentId, credential, agent: first } = await s.newAgent();
    const { attemptId } = await s.assignedTo(first);
    expect((await s.gw.ctx.presence.session(agentId))?.intervalMs).toBe(busyMs());
    // Its gateway gone silent right after the assignment: the agent is let back in after two
    // busy intervals, well inside the new lease, not after two idle ones.
    s.advance(2 * busyMs());
    const { welcome } = await s.online(credential, { running: [attemptId] });
    expect((await s.gw.ctx.presence.session(agentId))?.sessionId).toBe(welcome.session_id);
    expect(await s.gw.ctx.leases.get(attemptId)).toMatchObject({ agentId });
  });

  it("a hello that names running attempts starts the session in the busy window", async () => {
    const { agentId, credential, agent } = await s.newAgent();
    const { attemptId } = await s.assignedTo(agent);
    await agent.close();
    await waitFor(async () => (await s.gw.ctx.presence.session(agentId)) === null, 5000, "presence removed");
    await s.online(credential, { running: [attemptId] });
    expect((await s.gw.ctx.presence.session(agentId))?.intervalMs).toBe(busyMs());
    expect(await presenceScore(agentId)).toBe(s.now + leaseTtlMs());
  });

  it("a second session is refused within two idle intervals of an idle agent's last beat, though past two busy ones", async () => {
    const { credential } = await s.newAgent();
    s.advance(2 * idleMs() - 1);
    expect(2 * idleMs() - 1).toBeGreaterThan(2 * busyMs());
    const thief = await s.connect("/v1/agent", credential);
    thief.hello();
    expect((await thief.waitClosed()).code).toBe(CLOSE_CODES.replaced);
  });

  it("a busy agent's session is replaceable after two busy intervals of silence", async () => {
    const { agentId, credential, agent: first } = await s.newAgent();
    const { attemptId } = await s.assignedTo(first);
    s.advance(100); // s.heartbeat waits for last_seen to move
    await s.heartbeat(first, agentId, [attemptId]);
    s.advance(2 * busyMs());
    const { welcome } = await s.online(credential, { running: [attemptId] });
    expect((await first.waitClosed()).code).toBe(CLOSE_CODES.replaced);
    expect((await s.gw.ctx.presence.session(agentId))?.sessionId).toBe(welcome.session_id);
  });

  it("the reaper marks a silent idle agent OFFLINE only after its longer expiry, not at the lease TTL", async () => {
    const { agentId: idleId } = await s.newAgent({ role: "idle" });
    // A busy agent connected at the same instant and as silent: once it is OFFLINE, a
    // reaper pass has looked at both after the clock passed the lease TTL.
    const busy = await s.newAgent({ role: "busy" });
    const { attemptId } = await s.assignedTo(busy.agent, { requirements: { labels: { role: "busy" } } });
    await s.heartbeat(busy.agent, busy.agentId, [attemptId]);
    s.advance(leaseTtlMs() + 1);
    await waitFor(async () => (await s.agentStatus(busy.agentId)) === "OFFLINE", 10_000, "the busy agent OFFLINE");
    expect(await s.agentStatus(idleId)).toBe("ONLINE");
    s.advance(idleTtlMs() - leaseTtlMs());
    await waitFor(async () => (await s.agentStatus(idleId)) === "OFFLINE", 10_000, "the idle agent OFFLINE");
    expect(await s.gw.ctx.presence.session(idleId)).toBeNull();
  });

  it("an idle agent beating at its interval, one beat lost and the next late, stays ONLINE", async () => {
    const { agentId, agent } = await s.newAgent();
    const { agentId: silentId } = await s.newAgent();
    // One beat lost, the next 10 % late: 2.2 idle intervals of silence, inside three.
    s.advance(2.2 * idleMs());
    await s.heartbeat(agent, agentId);
    s.advance(idleTtlMs() - 2.2 * idleMs() + 1);
    await waitFor(async () => (await s.agentStatus(silentId)) === "OFFLINE", 10_000, "the silent agent OFFLINE");
    expect(await s.agentStatus(agentId)).toBe("ONLINE");
    expect(agent.isOpen).toBe(true);
  });
});
