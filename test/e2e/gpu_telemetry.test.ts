// GPUs end to end on real processes: a Deno agent (with the real permission flags) finds a
// fake nvidia-smi first on its PATH, and its GPUs, their live readings and the host's show
// in GET /v1/agents/{id} through the real gateway, scheduler and API; a reading that changes
// on the box changes there too, and an idle agent's heartbeats stay small on the wire.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge, type AgentHandle } from "../harness/bridge.ts";
import { fakeNvidiaSmi, type FakeGpu, type FakeNvidiaSmi } from "../harness/fake_nvidia_smi.ts";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";

let env: TestEnv;
let bridge: Bridge;
let agent: AgentHandle;
let smi: FakeNvidiaSmi;

const RTX = "GPU-5a1b2c3d-0e1f-2a3b-4c5d-6e7f8a9b0c1d";
const A6000 = "GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const gpu = (index: number, uuid: string, name: string, memoryMb: number, usedMb: number, utilization: number, temperature: number): FakeGpu =>
  ({ index, uuid, name, memoryMb, usedMb, utilization, temperature });

async function agentView(): Promise<Record<string, any>> {
  const res = await bridge.api("GET", `/v1/agents/${agent.agentId}`);
  expect(res.status).toBe(200);
  return res.body!;
}

beforeAll(async () => {
  smi = fakeNvidiaSmi([gpu(0, RTX, "NVIDIA GeForce RTX 4090", 24564, 1843, 3, 45), gpu(1, A6000, "NVIDIA RTX A6000", 49140, 210, 0, 38)]);
  env = await createTestEnv({ LB_LEASE_TTL_SECONDS: "4", LB_HEARTBEAT_SECONDS: "1", LB_LOG_LEVEL: "info" });
  bridge = await Bridge.start({ env: env.env });
  agent = await bridge.startAgent({ env: { PATH: smi.path } });
}, 120_000);

afterAll(async () => {
  await bridge?.stop();
  await env?.cleanup();
  smi?.remove();
});

describe("GPUs reported end to end", () => {
  it("the agent's GPUs, their readings and the host's show in GET /v1/agents/{id}", async () => {
    const view = await waitFor(async () => {
      const v = await agentView();
      return v.status === "ONLINE" && v.gpus.length === 2 && v.memory_mb !== null ? v : null;
    }, 30_000, "agent ONLINE with its GPUs and host readings");
    expect(view.gpus).toEqual([
      { index: 0, name: "NVIDIA GeForce RTX 4090", uuid: RTX, memory_mb: 24564, memory_used_mb: 1843, utilization_percent: 3, temperature_c: 45, other_processes: { count: 0, memory_mb: 0 } },
      { index: 1, name: "NVIDIA RTX A6000", uuid: A6000, memory_mb: 49140, memory_used_mb: 210, utilization_percent: 0, temperature_c: 38, other_processes: { count: 0, memory_mb: 0 } },
    ]);
    expect(view.memory_mb).toBeGreaterThan(0);
    expect(view.memory_used_mb).toBeGreaterThan(0);
    expect(view.disk_free_mb).toBeGreaterThan(0);
  });

  it("a reading that changes on the box reaches the API through the heartbeats", async () => {
    smi.setGpus([gpu(0, RTX, "NVIDIA GeForce RTX 4090", 24564, 20100, 98, 77), gpu(1, A6000, "NVIDIA RTX A6000", 49140, 210, 0, 38)]);
    const view = await waitFor(async () => {
      const v = await agentView();
      return v.gpus[0]?.memory_used_mb === 20100 ? v : null;
    }, 30_000, "new reading in the API");
    expect(view.gpus[0]).toMatchObject({ utilization_percent: 98, temperature_c: 77 });
    expect(view.gpus[1]).toMatchObject({ memory_used_mb: 210 });
  });

  it("an idle agent's heartbeats average under 64 bytes on the wire", async () => {
    // Heartbeats are counted by the presence's last_seen, which each one moves.
    const seen: { at: string; received: number }[] = [];
    await waitFor(async () => {
      const [v, received] = await Promise.all([agentView(), bridge.metric(bridge.gatewayUrl, "lb_gateway_ws_received_bytes_total")]);
      if (seen.at(-1)?.at !== v.last_seen_at) seen.push({ at: v.last_seen_at, received });
      return seen.length >= 9;
    }, 60_000, "nine heartbeats");
    const perBeat = (seen.at(-1)!.received - seen[1]!.received) / (seen.length - 2);
    console.log(`idle agent: ${perBeat.toFixed(1)} bytes received per heartbeat (frame and WebSocket header)`);
    expect(perBeat).toBeLessThan(64);
  });
});
