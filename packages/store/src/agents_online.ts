// Many agents ONLINE in one statement: after a gateway restart or a network blip a whole
// fleet says hello within seconds, and one UPDATE per agent made MySQL the bottleneck
// (3,360 of 10,000 ONLINE 5 s after their welcome). Each row keeps markAgentOnline's
// fence: a later session always wins, a revoked agent is never revived.
import type { Gpu } from "@labbridge/protocol";
import type { Pool } from "./db.ts";
import { parseHeld } from "./job_fit.ts";
import type { PendingAssignment } from "./active_attempts.ts";
import type { StoredSpec } from "./job_view.ts";

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
 * Records the sessions (ONLINE) in one UPDATE, each row fenced as markAgentOnline fences
 * it. Returns the agent ids whose row now holds the given session: those the write took.
 */
export async function markAgentsOnline(pool: Pool, sessions: OnlineSession[]): Promise<string[]> {
  const latest = latestSessions(sessions);
  if (latest.length === 0) return [];
  const rows = latest.map(() => "SELECT ? AS id, ? AS gateway_id, ? AS session_id, ? AS hostname, ? AS gpus, ? AS at").join(" UNION ALL ");
  const args = latest.flatMap((s) => [s.agentId, s.gatewayId, s.sessionId, s.hostname, JSON.stringify(s.gpus), s.at]);
  await pool.query(
    `UPDATE agents a JOIN (${rows}) v ON a.id = v.id
     SET a.status = 'ONLINE', a.gateway_id = v.gateway_id, a.session_id = v.session_id, a.hostname = v.hostname, a.gpus = v.gpus,
         a.connected_since = v.at, a.last_seen_at = v.at
     WHERE a.revoked_at IS NULL AND (a.connected_since IS NULL OR a.connected_since <= v.at)`,
    args,
  );
  const [held] = await pool.query("SELECT id, session_id FROM agents WHERE id IN (?) AND status = 'ONLINE'", [latest.map((s) => s.agentId)]);
  const now = new Map((held as { id: string; session_id: string }[]).map((r) => [r.id, r.session_id]));
  return latest.filter((s) => now.get(s.agentId) === s.sessionId).map((s) => s.agentId);
}

/** Assignments not yet started of any of the agents (one query for a batch of reconnects), oldest first. */
export async function unstartedAssignmentsOf(pool: Pool, agentIds: string[]): Promise<PendingAssignment[]> {
  if (agentIds.length === 0) return [];
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
 * Marks the agents OFFLINE in one UPDATE, each only if the given session is still its
 * current one and it is ONLINE (markAgentOffline's fence). Returns the agent ids it changed.
 */
export async function markAgentsOffline(pool: Pool, sessions: OfflineSession[]): Promise<string[]> {
  if (sessions.length === 0) return [];
  const ids = [...new Set(sessions.map((s) => s.agentId))];
  const [before] = await pool.query("SELECT id, session_id FROM agents WHERE id IN (?) AND status = 'ONLINE'", [ids]);
  const online = new Map((before as { id: string; session_id: string }[]).map((r) => [r.id, r.session_id]));
  const rows = sessions.map(() => "SELECT ? AS id, ? AS session_id, ? AS at").join(" UNION ALL ");
  await pool.query(
    `UPDATE agents a JOIN (${rows}) v ON a.id = v.id AND a.session_id = v.session_id
     SET a.status = 'OFFLINE', a.last_seen_at = v.at WHERE a.status = 'ONLINE'`,
    sessions.flatMap((s) => [s.agentId, s.sessionId, s.at]),
  );
  return sessions.filter((s) => online.get(s.agentId) === s.sessionId).map((s) => s.agentId);
}
