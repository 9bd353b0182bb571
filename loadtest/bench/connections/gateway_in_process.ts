// The setup the connection diagnostics share (live_heap.ts, heartbeat_cost.ts,
// slope_probe.ts): a fresh test environment, N provisioned agents, a gateway in this
// process (so its memory and CPU are this process's) and the fake fleet in its own
// processes, and one call that removes all of it.
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "@labbridge/logging";
import { startGateway, type RunningGateway } from "@labbridge/gateway";
import { createPool, provisionAgents } from "@labbridge/store";
import { createTestEnv } from "@labbridge/devstack";
import { Fleet } from "./fleet.ts";

/** A gateway in this process with a fleet for it. */
export interface GatewayInProcess {
  gw: RunningGateway;
  fleet: Fleet;
  /** The gateway's URL for `fleet.connect`. */
  urls: string[];
  /** Stops the fleet and the gateway and removes the environment. */
  stop: () => Promise<void>;
}

/** Provisions `agents` (names `<name>-…`) and starts a gateway with `env` over the test defaults, logging to `log`. */
export async function gatewayInProcess(name: string, agents: number, env: Record<string, string>, log: Logger): Promise<GatewayInProcess> {
  const testEnv = await createTestEnv(env, `lb${name}`);
  const pool = createPool(testEnv.config.mysqlUrl);
  const creds = await provisionAgents(pool, { count: agents, namePrefix: name, os: "linux", labels: {}, now: new Date() });
  const file = join(tmpdir(), `${testEnv.config.prefix}-creds.json`);
  writeFileSync(file, JSON.stringify(creds.map((c) => ({ agent_id: c.agentId, name: c.name, credential: c.credential }))), { mode: 0o600 });
  const gw = await startGateway(testEnv.config, { log });
  const fleet = await Fleet.start(file, agents);
  return {
    gw, fleet, urls: [`ws://127.0.0.1:${gw.port}`],
    stop: async () => {
      await fleet.stop();
      await gw.close();
      await pool.end();
      await testEnv.cleanup();
      rmSync(file, { force: true });
    },
  };
}
