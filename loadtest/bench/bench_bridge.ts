// Brings up what the LabBridge figures are measured against: the real services as
// processes (packages/devstack) on their own key prefix and database, with
// production lease and heartbeat settings, and a number of fake agents with many slots.
// Everything is torn down (processes stopped by pid, keys and database removed) by stop().
import { createPool } from "@labbridge/store";
import { Bridge, createTestEnv, type TestEnv, waitFor } from "@labbridge/devstack";
import { enrollFakeAgent, FakeAgent } from "./fake_agent.ts";

/** How the bench's agents were given their slots: the API (PATCH /v1/agents/{id}) or MySQL directly. */
export type SlotsVia = "api" | "mysql";

/** A running bench topology. */
export interface BenchBridge {
  env: TestEnv;
  bridge: Bridge;
  agents: FakeAgent[];
  slotsVia: SlotsVia;
  /** Job id → when its `attempt.assign` reached a fake agent (performance.now()). */
  assignedAt: Map<string, number>;
  stop: () => Promise<void>;
}

/**
 * Sets an agent's slots through `PATCH /v1/agents/{id}` when the API has it; otherwise
 * (main before issue 8) writes `agents.slots` in MySQL, as the fault suite does.
 */
async function setSlots(bridge: Bridge, pool: ReturnType<typeof createPool>, agentId: string, slots: number): Promise<SlotsVia> {
  const res = await bridge.api("PATCH", `/v1/agents/${agentId}`, { slots });
  if (res.status >= 200 && res.status < 300) return "api";
  await pool.execute("UPDATE agents SET slots = ? WHERE id = ?", [slots, agentId]);
  return "mysql";
}

/** Starts the services and `agents` fake agents with `slots` slots each, all online. */
export async function startBenchBridge(opts: { agents: number; slots: number }): Promise<BenchBridge> {
  // Production timing (config defaults), not the tests' shrunken leases: the bench
  // measures the system as deployed, logging at the default level (info) too.
  const env = await createTestEnv({ LB_LEASE_TTL_SECONDS: "30", LB_HEARTBEAT_SECONDS: "5", LB_SWEEP_SECONDS: "5", LB_LOG_LEVEL: "info" }, "lbbench");
  let bridge: Bridge | null = null;
  const agents: FakeAgent[] = [];
  const pool = createPool(env.config.mysqlUrl);
  const stop = async () => {
    await Promise.all(agents.map((a) => a.close()));
    await bridge?.stop();
    await pool.end();
    await env.cleanup();
  };
  try {
    bridge = await Bridge.start({ env: env.env });
    const assignedAt = new Map<string, number>();
    const onAssign = (jobId: string, at: number) => {
      if (!assignedAt.has(jobId)) assignedAt.set(jobId, at);
    };
    let slotsVia: SlotsVia = "api";
    for (let i = 0; i < opts.agents; i++) {
      const token = await bridge.api("POST", "/v1/enrollment-tokens", { ttl_seconds: 600 });
      if (token.status !== 201) throw new Error(`enrollment token not created: ${JSON.stringify(token.body)}`);
      const name = `bench-${i + 1}`;
      const { agentId, credential } = await enrollFakeAgent(bridge.gatewayUrl, String(token.body!.token), name);
      agents.push(await FakeAgent.connect({ gatewayUrl: bridge.gatewayUrl, credential, agentId, name, onAssign }));
      const b = bridge;
      await waitFor(async () => (await b.api("GET", `/v1/agents/${agentId}`)).body?.status === "ONLINE", 30_000, `${name} online`);
      if ((await setSlots(bridge, pool, agentId, opts.slots)) === "mysql") slotsVia = "mysql";
    }
    return { env, bridge, agents, slotsVia, assignedAt, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
