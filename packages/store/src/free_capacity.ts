// Free capacity of agents: slots not taken by active attempts and GPUs no active attempt
// holds. Two queries for any number of agents (the agents, then their active attempts),
// never a count per agent. Read without locks for planning; the commit reads it again
// under the agents' row locks (READ COMMITTED), which is what fences two schedulers.
import type { Conn, Pool } from "./db.ts";
import { parseHeld, parseInventory, type FreeAgent } from "./job_fit.ts";
import { NOT_PAUSED_SQL } from "./agent_pause_repo.ts";

interface AgentCapacityRow {
  id: string;
  gateway_id: string;
  os: string;
  labels: string;
  gpus: string;
  slots: number;
  last_assigned_at: Date | null;
}

// Paused by no source: neither the API (unless its pause has ended) nor the agent itself.
const ELIGIBLE = `status = 'ONLINE' AND ${NOT_PAUSED_SQL} AND revoked_at IS NULL AND gateway_id IS NOT NULL`;
const COLUMNS = "id, gateway_id, os, labels, gpus, slots, last_assigned_at";

/** Agents that can take work now (ONLINE, unpaused, unrevoked) and have a free slot, least recently assigned first. */
export async function freeAgents(pool: Pool | Conn): Promise<FreeAgent[]> {
  const [rows] = await pool.query(`SELECT ${COLUMNS} FROM agents WHERE ${ELIGIBLE}`);
  const agents = await withActive(pool, rows as AgentCapacityRow[]);
  return agents.filter((a) => a.freeSlots > 0).sort(leastRecentlyAssigned);
}

/**
 * Locks the eligible ones of these agents (in id order; one another scheduler is
 * assigning to right now is skipped, not waited for) and returns their capacity as it is
 * now. Call inside a READ COMMITTED transaction: every assignment committed before the
 * lock is seen, and every later one waits for it.
 */
export async function lockAgentsCapacity(conn: Conn, agentIds: string[]): Promise<Map<string, FreeAgent>> {
  if (agentIds.length === 0) return new Map();
  const [rows] = await conn.query(
    `SELECT ${COLUMNS} FROM agents WHERE id IN (?) AND ${ELIGIBLE} ORDER BY id FOR UPDATE SKIP LOCKED`,
    [[...new Set(agentIds)].sort()],
  );
  const agents = await withActive(conn, rows as AgentCapacityRow[]);
  return new Map(agents.map((a) => [a.id, a]));
}

/** Orders agents as the matcher prefers them: never assigned first, then longest ago, then id. */
export function leastRecentlyAssigned(a: FreeAgent, b: FreeAgent): number {
  const x = a.lastAssignedAt ?? -Infinity;
  const y = b.lastAssignedAt ?? -Infinity;
  return x !== y ? (x < y ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

async function withActive(db: Pool | Conn, rows: AgentCapacityRow[]): Promise<FreeAgent[]> {
  if (rows.length === 0) return [];
  const [active] = await db.query(
    "SELECT agent_id, gpus FROM attempts WHERE agent_id IN (?) AND state IN ('ASSIGNED','RUNNING')",
    [rows.map((r) => r.id)],
  );
  const busy = new Map<string, { n: number; held: Set<number> }>();
  for (const a of active as { agent_id: string; gpus: string }[]) {
    const b = busy.get(a.agent_id) ?? { n: 0, held: new Set<number>() };
    b.n += 1;
    for (const g of parseHeld(a.gpus)) b.held.add(g.index);
    busy.set(a.agent_id, b);
  }
  return rows.map((r) => {
    const b = busy.get(r.id);
    return {
      id: r.id,
      gatewayId: r.gateway_id,
      os: r.os,
      labels: safeLabels(r.labels),
      freeSlots: r.slots - (b?.n ?? 0),
      freeGpus: parseInventory(r.gpus).filter((g) => !b?.held.has(g.index)),
      lastAssignedAt: r.last_assigned_at ? r.last_assigned_at.getTime() : null,
    };
  });
}

function safeLabels(json: string): Record<string, string> {
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === "object" ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}
