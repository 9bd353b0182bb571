// Many agents ONLINE in one statement: after a gateway restart or a network blip a whole
// fleet says hello within seconds, and one UPDATE per agent made MySQL the bottleneck
// (3,360 of 10,000 ONLINE 5 s after their welcome). Each row keeps markAgentOnline's
// fence: a later session always wins, a revoked agent is never revived.
import type { Gpu } from "@labbridge/protocol";
import type { Pool } from "./db.ts";
import { parseHeld } from "./job_fit.ts";
import type { PendingAssignment } from "./active_attempts.ts";
import type { StoredSpec } from "./job_view.ts";

/**
 * Agents per presence statement. One UPDATE of 20,000 rows costs about the same in 500-
 * or 5,000-row pieces (about 0.4 s on the 2-core machine), so the size only bounds the
 * packet: 2,000 rows with a GPU list each stay well under max_allowed_packet.
 */
export const PRESENCE_ROWS_PER_STATEMENT = 2000;

/** Splits a list into pieces of at most `size`. */
function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One agent's new session, as its agent.online entry announced it. */
export interface OnlineSession {
  agentId: string;
  gatewayId: string;
  sessionId: string;
  hostname: string;
  gpus: Gpu[];
  at: Date;
}

/**
 * Of several sessions of one agent, the one that wins when they are applied in order:
 * the latest `at`, and of equal ones the last (as markAgentOnline's `<=` fence does).
 */
export function latestSessions(sessions: OnlineSession[]): OnlineSession[] {
  const byAgent = new Map<string, OnlineSession>();
  for (const s of sessions) {
    const seen = byAgent.get(s.agentId);
    if (!seen || s.at.getTime() >= seen.at.getTime()) byAgent.set(s.agentId, s);
  }
  return [...byAgent.values()];
}

/**
 * Records the sessions (ONLINE), one UPDATE per `chunk` agents, each row fenced as
 * markAgentOnline fences it. Returns the agent ids whose row now holds the given session:
 * those the write took. An agent's sessions are reduced to the one that wins before the
 * rows are cut into pieces, so no two pieces hold the same agent and their order is free.
 */
export async function markAgentsOnline(pool: Pool, sessions: OnlineSession[], chunk = PRESENCE_ROWS_PER_STATEMENT): Promise<string[]> {
  const took: string[] = [];
  for (const part of chunks(latestSessions(sessions), chunk)) {
    const rows = part.map(() => "SELECT ? AS id, ? AS gateway_id, ? AS session_id, ? AS hostname, ? AS gpus, ? AS at").join(" UNION ALL ");
    const args = part.flatMap((s) => [s.agentId, s.gatewayId, s.sessionId, s.hostname, JSON.stringify(s.gpus), s.at]);
    await pool.query(
      `UPDATE agents a JOIN (${rows}) v ON a.id = v.id
       SET a.status = 'ONLINE', a.gateway_id = v.gateway_id, a.session_id = v.session_id, a.hostname = v.hostname, a.gpus = v.gpus,
           a.connected_since = v.at, a.last_seen_at = v.at
       WHERE a.revoked_at IS NULL AND (a.connected_since IS NULL OR a.connected_since <= v.at)`,
      args,
    );
    const [held] = await pool.query("SELECT id, session_id FROM agents WHERE id IN (?) AND status = 'ONLINE'", [part.map((s) => s.agentId)]);
    const now = new Map((held as { id: string; session_id: string }[]).map((r) => [r.id, r.session_id]));
    for (const s of part) if (now.get(s.agentId) === s.sessionId) took.push(s.agentId);
  }
  return took;
}

/**
 * Assignments not yet started of any of the agents (one query for a batch of reconnects),
 * oldest first. When no job is ASSIGNED at all (a fleet's cold start) one index probe says
 * so, instead of looking each agent up.
 */
export async function unstartedAssignmentsOf(pool: Pool, agentIds: string[]): Promise<PendingAssignment[]> {
  if (agentIds.length === 0) return [];
  const [any] = await pool.query("SELECT 1 FROM jobs WHERE state = 'ASSIGNED' LIMIT 1");
  if ((any as unknown[]).length === 0) return [];
  const [rows] = await pool.query(
    `SELECT a.id, a.job_id, a.agent_id, a.gpus, j.spec, j.timeout_seconds FROM attempts a JOIN jobs j ON j.id = a.job_id AND j.current_attempt_id = a.id
     WHERE a.agent_id IN (?) AND a.state = 'ASSIGNED' AND j.state = 'ASSIGNED' ORDER BY a.assigned_at`,
    [agentIds],
  );
  return (rows as { id: string; job_id: string; agent_id: string; gpus: string; spec: string; timeout_seconds: number }[]).map((r) => ({
    attemptId: r.id, jobId: r.job_id, agentId: r.agent_id, spec: JSON.parse(r.spec) as StoredSpec, timeoutSeconds: r.timeout_seconds, gpus: parseHeld(r.gpus),
  }));
}

/** One closed session, as its agent.offline entry announced it. */
export interface OfflineSession {
  agentId: string;
  sessionId: string;
  at: Date;
}

/**
 * Marks the agents OFFLINE, one UPDATE per `chunk` sessions, each only if the given
 * session is still its current one and it is ONLINE (markAgentOffline's fence). Returns
 * the sessions it closed, one per agent. Offlines alone commute (each can only close the
 * session it names), so the pieces may hold one agent's sessions in any order.
 */
export async function markAgentsOffline(pool: Pool, sessions: OfflineSession[], chunk = PRESENCE_ROWS_PER_STATEMENT): Promise<OfflineSession[]> {
  const closed = new Map<string, OfflineSession>();
  for (const part of chunks(sessions, chunk)) {
    const [before] = await pool.query("SELECT id, session_id FROM agents WHERE id IN (?) AND status = 'ONLINE'", [[...new Set(part.map((s) => s.agentId))]]);
    const online = new Map((before as { id: string; session_id: string }[]).map((r) => [r.id, r.session_id]));
    const rows = part.map(() => "SELECT ? AS id, ? AS session_id, ? AS at").join(" UNION ALL ");
    await pool.query(
      `UPDATE agents a JOIN (${rows}) v ON a.id = v.id AND a.session_id = v.session_id
       SET a.status = 'OFFLINE', a.last_seen_at = v.at WHERE a.status = 'ONLINE'`,
      part.flatMap((s) => [s.agentId, s.sessionId, s.at]),
    );
    for (const s of part) if (online.get(s.agentId) === s.sessionId) closed.set(s.agentId, s);
  }
  return [...closed.values()];
}
