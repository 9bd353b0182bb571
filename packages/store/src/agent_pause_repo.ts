// An agent's pause in MySQL: the API's (paused, pause_reason, pause_until) and the one the
// agent reports for itself (agent_pause JSON). One function says what the pause is at a
// given moment, so the API, the queue explanation and the scheduler read it alike.
import { type AgentPause, isAgentOwnedPause } from "@labbridge/protocol";
import type { Pool } from "./db.ts";
import { withTransaction } from "./db.ts";

/** The SQL condition for "no pause holds now" on `agents` (UTC_TIMESTAMP: DATETIMEs are stored in UTC). */
export const NOT_PAUSED_SQL = "(paused = 0 OR (pause_until IS NOT NULL AND pause_until <= UTC_TIMESTAMP(3))) AND agent_pause IS NULL";

/** The pause columns of an agents row. */
export interface PauseColumns {
  paused: number;
  pause_reason: string | null;
  pause_until: Date | null;
  agent_pause: string | null;
}

/** The agent-owned pause a row holds, or null (a damaged value counts as none). */
export function agentOwnedPauseOf(row: Pick<PauseColumns, "agent_pause">): AgentPause | null {
  if (!row.agent_pause) return null;
  try {
    const p: unknown = JSON.parse(row.agent_pause);
    return isAgentOwnedPause(p) ? p : null;
  } catch {
    return null;
  }
}

/** The pause that holds at `nowMs`, as the API shows it: the API's first, else the agent's own, else null. */
export function pauseOf(row: PauseColumns, nowMs: number): AgentPause | null {
  if (row.paused === 1 && (row.pause_until === null || row.pause_until.getTime() > nowMs)) {
    return { source: "api", reason: row.pause_reason, until: row.pause_until?.toISOString() ?? null };
  }
  // The agent ends its own pauses when their time comes and reports it; it is shown as reported.
  return agentOwnedPauseOf(row);
}

/**
 * Records the pause the agent reported for itself. Returns what it replaced and whether it
 * changed anything (a report repeated after a reconnect changes nothing), so the caller
 * announces each change once. False `found`: no such live agent.
 */
export async function setAgentOwnPause(
  pool: Pool,
  args: { agentId: string; pause: AgentPause | null },
): Promise<{ found: boolean; changed: boolean; previous: AgentPause | null }> {
  const value = args.pause ? JSON.stringify({ source: args.pause.source, reason: args.pause.reason, until: args.pause.until }) : null;
  return await withTransaction(pool, async (conn) => {
    const [rows] = await conn.execute("SELECT agent_pause FROM agents WHERE id = ? AND revoked_at IS NULL FOR UPDATE", [args.agentId]);
    const row = (rows as { agent_pause: string | null }[])[0];
    if (!row) return { found: false, changed: false, previous: null };
    if (row.agent_pause === value) return { found: true, changed: false, previous: agentOwnedPauseOf(row) };
    await conn.execute("UPDATE agents SET agent_pause = ? WHERE id = ?", [value, args.agentId]);
    return { found: true, changed: true, previous: agentOwnedPauseOf(row) };
  });
}
