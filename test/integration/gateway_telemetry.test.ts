// GPU inventory and live telemetry through the real gateway: hello's GPUs go to MySQL as the
// inventory and their readings to Redis (expiring, fenced by the session); heartbeats merge
// what changed; a changed GPU list is recorded again; GET /v1/agents shows it all; the
// GPUs an attempt.assign entry names reach the agent.
import { describe, expect, it } from "vitest";
import { appendEntry } from "@labbridge/streams";
import { newId, ID_PREFIX } from "@labbridge/protocol";
import { waitFor } from "../harness/test_env.ts";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";
import type { ScriptedAgent } from "./ws_agent.ts";

let s: GatewayStack;
stackPerTest((stack) => (s = stack));

const RTX = "GPU-5a1b2c3d-0e1f-2a3b-4c5d-6e7f8a9b0c1d";
const A6000 = "GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const HELLO_GPUS = [
  { index: 0, uuid: RTX, name: "NVIDIA GeForce RTX 4090", memory_mb: 24564, memory_used_mb: 1843, utilization_percent: 3, temperature_c: 45, other_processes: { count: 0, memory_mb: 0 } },
  { index: 1, uuid: A6000, name: "NVIDIA RTX A6000", memory_mb: 49140, memory_used_mb: 210, utilization_percent: 0, temperature_c: 38, other_processes: { count: 1, memory_mb: null } },
];

async function agentView(agentId: string): Promise<Record<string, unknown>> {
  const api = await s.startApi();
  const res = await fetch(`http://127.0.0.1:${api.port}/v1/agents/${agentId}`, { headers: { authorization: `Bearer ${s.env.config.adminToken}` } });
  expect(res.status).toBe(200);
  return await res.json() as Record<string, unknown>;
}

async function beat(agent: ScriptedAgent, frame: Record<string, unknown>): Promise<void> {
  const acks = agent.all("heartbeat.ack").length;
  agent.send({ type: "heartbeat", running: [], ...frame });
  await waitFor(() => agent.all("heartbeat.ack").length > acks, 5000, "heartbeat.ack");
}

describe("GPU inventory and live telemetry", () => {
  it("hello's GPUs are stored in MySQL as {index, uuid, name, memory_mb} and their readings shown live by GET /v1/agents/{id}", async () => {
    const { agentId, credential } = await s.enroll();
    await s.online(credential, { gpus: HELLO_GPUS, host: [12, 65536, 20000, 400000] });
    const row = await s.agentRow(agentId);
    expect(JSON.parse(row!.gpus)).toEqual([
      { index: 0, uuid: RTX, name: "NVIDIA GeForce RTX 4090", memory_mb: 24564 },
      { index: 1, uuid: A6000, name: "NVIDIA RTX A6000", memory_mb: 49140 },
    ]);
    const view = await agentView(agentId);
    expect(view.gpus).toEqual([
      { index: 0, name: "NVIDIA GeForce RTX 4090", uuid: RTX, memory_mb: 24564, memory_used_mb: 1843, utilization_percent: 3, temperature_c: 45, other_processes: { count: 0, memory_mb: 0 } },
      { index: 1, name: "NVIDIA RTX A6000", uuid: A6000, memory_mb: 49140, memory_used_mb: 210, utilization_percent: 0, temperature_c: 38, other_processes: { count: 1, memory_mb: null } },
    ]);
    expect(view).toMatchObject({ cpu_percent: 12, memory_mb: 65536, memory_used_mb: 20000, disk_free_mb: 400000 });
    // The readings expire unless heartbeats renew them: hot state, not a record. They live
    // as long as the session's presence: this idle agent's, three idle intervals (decision 0028).
    const ttl = await s.gw.ctx.redis.pttl(`{${s.env.config.prefix}}:telemetry:${agentId}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(Math.max(s.env.config.leaseTtlSeconds, 3 * s.env.config.idleHeartbeatSeconds) * 1000);
  });

  it("hello's clock is compared with the gateway's: welcome carries the server time and GET /v1/agents/{id} shows the agent's skew", async () => {
    const { agentId, credential } = await s.enroll();
    const before = Date.now();
    const { welcome } = await s.online(credential, { clock_ms: before + 7 * 60_000 });
    expect(welcome.server_time_ms).toBeGreaterThanOrEqual(before - 1000);
    const skew = (await agentView(agentId)).clock_skew_ms as number;
    // Seven minutes ahead, give or take the test's own latency.
    expect(Math.abs(skew - 7 * 60_000)).toBeLessThan(5_000);
  });

  it("a heartbeat merges only the readings it carries; the others stay as hello left them", async () => {
    const { agentId, credential } = await s.enroll();
    const { agent } = await s.online(credential, { gpus: HELLO_GPUS, host: [12, 65536, 20000, 400000] });
    await beat(agent, { g: [[1, 40000, 97, 71, 0, 0]] });
    await beat(agent, { h: [55, 65536, 30000, 390000] });
    await beat(agent, {}); // an idle heartbeat changes nothing
    const view = await agentView(agentId);
    const gpus = view.gpus as Record<string, unknown>[];
    expect(gpus[0]).toMatchObject({ index: 0, memory_used_mb: 1843, utilization_percent: 3, temperature_c: 45 });
    expect(gpus[1]).toMatchObject({ index: 1, memory_used_mb: 40000, utilization_percent: 97, temperature_c: 71, other_processes: { count: 0, memory_mb: 0 } });
    expect(view).toMatchObject({ cpu_percent: 55, memory_used_mb: 30000, disk_free_mb: 390000 });
  });

  it("a heartbeat with a changed GPU list records the new inventory in MySQL and drops the readings of a GPU that went", async () => {
    const { agentId, credential } = await s.enroll();
    const { agent } = await s.online(credential, { gpus: HELLO_GPUS });
    await beat(agent, { gpus: [{ ...HELLO_GPUS[1], index: 0 }] });
    await waitFor(async () => JSON.parse((await s.agentRow(agentId))!.gpus).length === 1, 5000, "new GPU list in MySQL");
    const row = await s.agentRow(agentId);
    expect(JSON.parse(row!.gpus)).toEqual([{ index: 0, uuid: A6000, name: "NVIDIA RTX A6000", memory_mb: 49140 }]);
    expect(row).toMatchObject({ status: "ONLINE", hostname: "test-host" });
    const readings = await s.gw.ctx.telemetry.read(agentId);
    expect([...readings!.gpus.keys()]).toEqual([0]);
    expect(readings!.gpus.get(0)).toEqual([0, 210, 0, 38, 1, null]);
  });

  it("a session that is not the agent's current one cannot write its readings", async () => {
    const { agentId, credential } = await s.enroll();
    const { welcome } = await s.online(credential, { gpus: HELLO_GPUS });
    const t = s.gw.ctx.telemetry;
    expect(await t.write(agentId, newId(ID_PREFIX.session), { replace: true, gpus: [[0, 1, 1, 1, 9, 9]] }, 10_000)).toBe(false);
    expect((await t.read(agentId))!.gpus.get(0)).toEqual([0, 1843, 3, 45, 0, 0]);
    expect(await t.write(agentId, welcome.session_id, { replace: false, gpus: [[0, 1, 1, 1, 9, 9]] }, 10_000)).toBe(true);
    expect((await t.read(agentId))!.gpus.get(0)).toEqual([0, 1, 1, 1, 9, 9]);
  });

  it("the readings of many agents come back in one call, agents without readings left out", async () => {
    const a = await s.enroll();
    const b = await s.enroll();
    await s.online(a.credential, { gpus: HELLO_GPUS });
    await s.online(b.credential, { gpus: [], host: [1, 2, 3, 4] });
    const many = await s.gw.ctx.telemetry.readMany([a.agentId, b.agentId, "agt_never_seen"]);
    expect([...many.keys()]).toEqual([a.agentId, b.agentId]);
    expect(many.get(a.agentId)!.gpus.get(1)).toEqual([1, 210, 0, 38, 1, null]);
    expect(many.get(b.agentId)).toEqual({ gpus: new Map(), clockSkewMs: null, host: [1, 2, 3, 4] });
  });

  it("an older agent's GPUs (name and memory only) show with their positions as indices and every reading unknown", async () => {
    const { agentId, credential } = await s.enroll();
    await s.online(credential, { gpus: [{ name: "NVIDIA GeForce RTX 4090", memory_mb: 24564 }] });
    const view = await agentView(agentId);
    expect(view.gpus).toEqual([{
      index: 0, name: "NVIDIA GeForce RTX 4090", uuid: null, memory_mb: 24564,
      memory_used_mb: null, utilization_percent: null, temperature_c: null, other_processes: null,
    }]);
    expect(view).toMatchObject({ cpu_percent: null, memory_mb: null, memory_used_mb: null, disk_free_mb: null });
  });

  it("an offline agent shows its inventory but no live readings", async () => {
    const { agentId, credential } = await s.enroll();
    const { agent } = await s.online(credential, { gpus: HELLO_GPUS, host: [12, 65536, 20000, 400000] });
    await agent.close();
    await waitFor(async () => (await s.gw.ctx.presence.session(agentId)) === null, 5000, "presence gone");
    const view = await agentView(agentId);
    expect((view.gpus as Record<string, unknown>[]).map((g) => [g.index, g.name, g.memory_used_mb, g.other_processes])).toEqual([
      [0, "NVIDIA GeForce RTX 4090", null, null], [1, "NVIDIA RTX A6000", null, null],
    ]);
    expect(view).toMatchObject({ cpu_percent: null, memory_mb: null, memory_used_mb: null, disk_free_mb: null });
  });

  it("the gateway passes the GPUs of an attempt.assign entry on to the agent, and none when the entry names none", async () => {
    const { agentId, agent } = await s.newAgent();
    const stream = s.gw.ctx.streams.gateway(s.env.config.gatewayId);
    const assign = (gpus: unknown) => appendEntry(s.gw.ctx.redis, stream, {
      type: "attempt.assign", agent_id: agentId, job_id: newId(ID_PREFIX.job), attempt_id: newId(ID_PREFIX.attempt),
      data: { command: ["true"], env: {}, inputs: [], timeout_seconds: 60, ...(gpus === undefined ? {} : { gpus }) },
    });
    await assign([{ index: 1, uuid: A6000 }, { index: 2 }]);
    expect((await agent.next("attempt.assign")).gpus).toEqual([{ index: 1, uuid: A6000 }, { index: 2 }]);
    await assign([]);
    expect((await agent.next("attempt.assign")).gpus).toEqual([]);
    await assign(undefined);
    expect((await agent.next("attempt.assign"))).not.toHaveProperty("gpus");
  });
});
