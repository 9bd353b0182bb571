// Agents created in bulk by an admin (`npm run agents:provision -- --count N`): a lab that
// images a hundred workstations at once, and the connection bench and k6 runs that need
// thousands of real credentials. Each agent gets what enrollment gives it (an agent row and
// a hashed credential), written a few thousand rows per statement instead of one
// transaction per agent.
import { ID_PREFIX, newId } from "@labbridge/protocol";
import type { Pool } from "./db.ts";
import { withTransaction } from "./db.ts";
import { hashSecret, newSecret, SECRET_PREFIX } from "./secrets.ts";

/** One provisioned agent: its id and its credential (shown once, stored hashed). */
export interface ProvisionedAgent {
  agentId: string;
  name: string;
  credential: string;
}

/** Rows per INSERT: well under max_allowed_packet, few enough statements for 100,000 agents. */
const CHUNK = 2000;

/** Creates `count` agents named `<namePrefix>-<n>` with their credentials; returns them (credentials in clear, once). */
export async function provisionAgents(
  pool: Pool,
  args: { count: number; namePrefix: string; os: string; labels: Record<string, string>; slots?: number; now: Date },
): Promise<ProvisionedAgent[]> {
  const out: ProvisionedAgent[] = [];
  const ms = args.now.getTime();
  const labels = JSON.stringify(args.labels);
  for (let start = 0; start < args.count; start += CHUNK) {
    const chunk: ProvisionedAgent[] = [];
    for (let i = start; i < Math.min(args.count, start + CHUNK); i++) {
      chunk.push({ agentId: newId(ID_PREFIX.agent, ms), name: `${args.namePrefix}-${i + 1}`, credential: newSecret(SECRET_PREFIX.credential) });
    }
    await withTransaction(pool, async (conn) => {
      await conn.query("INSERT INTO agents (id, name, hostname, os, labels, gpus, slots, created_at) VALUES ?", [
        chunk.map((a) => [a.agentId, a.name, a.name, args.os, labels, "[]", args.slots ?? 1, args.now]),
      ]);
      await conn.query("INSERT INTO agent_credentials (id, agent_id, secret_hash, created_at) VALUES ?", [
        chunk.map((a) => [newId("crd_", ms), a.agentId, hashSecret(a.credential), args.now]),
      ]);
    });
    out.push(...chunk);
  }
  return out;
}
