// Agents in MySQL: enrollment (one-use token → agent + credential), authentication of a
// credential, online/offline fenced on the session id, pause, resume and revoke.
import { ID_PREFIX, newId, type AgentStatus, type Gpu } from "@labbridge/protocol";
import type { Pool } from "./db.ts";
import { withTransaction } from "./db.ts";
import { recordAudit, type AuditActor } from "./audit_repo.ts";
import { normalizeAgentOs } from "./queue_reason.ts";
import { hashSecret, newSecret, SECRET_PREFIX } from "./secrets.ts";

/** A row of `agents`. */
export interface AgentRow {
  id: string;
  name: string;
  hostname: string;
  os: string;
  labels: string;
  gpus: string;
  slots: number;
  status: AgentStatus;
  paused: number;
  pause_reason: string | null;
  /** When the API's pause ends by itself (null: until resumed). */
  pause_until: Date | null;
  /** The pause the agent reported for itself, JSON {source, reason, until}, or null (agent_pause_repo.ts). */
  agent_pause: string | null;
  gateway_id: string | null;
  session_id: string | null;
  connected_since: Date | null;
  last_seen_at: Date | null;
  created_at: Date;
  revoked_at: Date | null;
}

/**
 * Creates a one-use enrollment token; returns the token (shown once), its id and expiry.
 * With `by` (the API's admin), its `enrollment_token.created` audit row commits with it.
 */
export async function createEnrollmentToken(
  pool: Pool,
  args: { createdBy: string; ttlSeconds: number; labels: Record<string, string>; now: Date; by?: AuditActor },
): Promise<{ id: string; token: string; expiresAt: Date }> {
  const token = newSecret(SECRET_PREFIX.enrollment);
  const id = newId(ID_PREFIX.enrollmentToken, args.now.getTime());
  const expiresAt = new Date(args.now.getTime() + args.ttlSeconds * 1000);
  await withTransaction(pool, async (conn) => {
    await conn.execute(
      "INSERT INTO enrollment_tokens (id, token_hash, labels, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      [id, hashSecret(token), JSON.stringify(args.labels), args.createdBy, args.now, expiresAt],
    );
    if (args.by) {
      await recordAudit(conn, {
        at: args.now, actor: args.by.actor, role: args.by.role, action: "enrollment_token.created", target_type: "enrollment_token", target_id: id,
        result: "ok", request_id: args.by.requestId, details: { labels: args.labels, expires_at: expiresAt.toISOString() },
      });
    }
  });
  return { id, token, expiresAt };
}

/**
 * Uses an enrollment token (once, before it expires) to create an agent and its
 * credential, recording `enrollment_token.used` (by the new agent, with the enrolling
 * session's id) in the same transaction. Returns null when the token is unknown, used or expired.
 */
export async function enrollAgent(
  pool: Pool,
  args: { token: string; name: string; hostname: string; os: string; labels: Record<string, string>; now: Date; sessionId?: string },
): Promise<{ agentId: string; credential: string } | null> {
  const { now } = args;
  return withTransaction(pool, async (conn) => {
    const [rows] = await conn.execute(
      "SELECT id, labels FROM enrollment_tokens WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? FOR UPDATE",
      [hashSecret(args.token), now],
    );
    const token = (rows as { id: string; labels: string }[])[0];
    if (!token) return null;
    const agentId = newId(ID_PREFIX.agent, now.getTime());
    await conn.execute("UPDATE enrollment_tokens SET used_at = ?, agent_id = ? WHERE id = ? AND used_at IS NULL", [now, agentId, token.id]);
    // Labels the admin put on the token win over what the agent says about itself.
    const labels = { ...args.labels, ...(JSON.parse(token.labels) as Record<string, string>) };
    await conn.execute(
      "INSERT INTO agents (id, name, hostname, os, labels, gpus, created_at) VALUES (?, ?, ?, ?, ?, '[]', ?)",
      // Stored in the spelling jobs ask for (Deno says "darwin" for macOS): queue_reason.ts.
      [agentId, args.name, args.hostname, normalizeAgentOs(args.os), JSON.stringify(labels), now],
    );
    const credential = newSecret(SECRET_PREFIX.credential);
    await conn.execute(
      "INSERT INTO agent_credentials (id, agent_id, secret_hash, created_at) VALUES (?, ?, ?, ?)",
      [newId("crd_", now.getTime()), agentId, hashSecret(credential), now],
    );
    await recordAudit(conn, {
      at: now, actor: agentId, role: "agent", action: "enrollment_token.used", target_type: "enrollment_token", target_id: token.id,
      result: "ok", request_id: args.sessionId ?? null, details: { agent_id: agentId, name: args.name, hostname: args.hostname, labels },
    });
    return { agentId, credential };
  });
}

/** What a presented agent credential is: live (with its agent), revoked (agent or credential), or unknown. */
export type CredentialCheck =
  | { status: "live"; agent: AgentRow }
  | { status: "revoked"; agentId: string }
  | { status: "unknown" };

/** Looks a credential up, telling a revoked one (4403) from one never issued (4401). */
export async function checkAgentCredential(pool: Pool, credential: string): Promise<CredentialCheck> {
  const [rows] = await pool.execute(
    `SELECT a.*, c.revoked_at AS credential_revoked_at FROM agent_credentials c JOIN agents a ON a.id = c.agent_id
     WHERE c.secret_hash = ?`,
    [hashSecret(credential)],
  );
  const row = (rows as (AgentRow & { credential_revoked_at: Date | null })[])[0];
  if (!row) return { status: "unknown" };
  if (row.credential_revoked_at || row.revoked_at) return { status: "revoked", agentId: row.id };
  const { credential_revoked_at: _, ...agent } = row;
  return { status: "live", agent };
}

/** The agent a live credential belongs to, or null (unknown, or agent or credential revoked). */
export async function authenticateAgent(pool: Pool, credential: string): Promise<AgentRow | null> {
  const checked = await checkAgentCredential(pool, credential);
  return checked.status === "live" ? checked.agent : null;
}

/**
 * Records a new session of an agent (ONLINE); a later session always wins. The OS is not
 * taken from the session: it was fixed at enrollment, and an agent claiming another one
 * in hello must not attract jobs meant for that OS.
 */
export async function markAgentOnline(
  pool: Pool,
  args: {
    agentId: string; gatewayId: string; sessionId: string; hostname: string; gpus: Gpu[]; at: Date;
  },
): Promise<boolean> {
  const [res] = await pool.execute(
    `UPDATE agents SET status = 'ONLINE', gateway_id = ?, session_id = ?, hostname = ?, gpus = ?,
       connected_since = ?, last_seen_at = ?
     WHERE id = ? AND revoked_at IS NULL AND (connected_since IS NULL OR connected_since <= ?)`,
    [args.gatewayId, args.sessionId, args.hostname, JSON.stringify(args.gpus), args.at, args.at, args.agentId, args.at],
  );
  return (res as { affectedRows: number }).affectedRows === 1;
}

/** Marks an agent OFFLINE, only if `sessionId` is still its current session. */
export async function markAgentOffline(pool: Pool, args: { agentId: string; sessionId: string; at: Date }): Promise<boolean> {
  const [res] = await pool.execute(
    "UPDATE agents SET status = 'OFFLINE', last_seen_at = ? WHERE id = ? AND session_id = ? AND status = 'ONLINE'",
    [args.at, args.agentId, args.sessionId],
  );
  return (res as { affectedRows: number }).affectedRows === 1;
}

/**
 * Sets or clears the API's pause of an agent (`until`: when it ends by itself); false when no
 * such live agent. With `audit` (the API's admin), `agent.paused` or `agent.resumed` is
 * recorded in the same transaction.
 */
export async function setAgentPaused(
  pool: Pool,
  args: { agentId: string; paused: boolean; reason: string | null; until?: Date | null; audit?: { by: AuditActor; at: Date; details?: Record<string, unknown> } },
): Promise<boolean> {
  return withTransaction(pool, async (conn) => {
    const [res] = await conn.execute(
      "UPDATE agents SET paused = ?, pause_reason = ?, pause_until = ? WHERE id = ? AND revoked_at IS NULL",
      [args.paused ? 1 : 0, args.paused ? args.reason : null, args.paused ? args.until ?? null : null, args.agentId],
    );
    // affectedRows counts matched rows (mysql2 sets FOUND_ROWS): pausing a paused agent is still an act someone did.
    const found = (res as { affectedRows: number }).affectedRows === 1;
    const audit = args.audit;
    if (found && audit) {
      await recordAudit(conn, {
        at: audit.at, actor: audit.by.actor, role: audit.by.role, action: args.paused ? "agent.paused" : "agent.resumed",
        target_type: "agent", target_id: args.agentId, result: "ok", request_id: audit.by.requestId,
        details: { ...(args.paused ? { reason: args.reason, until: args.until?.toISOString() ?? null } : {}), ...audit.details },
      });
    }
    return found;
  });
}

/** Revokes an agent and its credentials; false when no such live agent. With `by`, `agent.revoked` commits with it. */
export async function revokeAgent(pool: Pool, args: { agentId: string; now: Date; by?: AuditActor }): Promise<boolean> {
  return withTransaction(pool, async (conn) => {
    const [res] = await conn.execute(
      "UPDATE agents SET revoked_at = ?, status = 'OFFLINE' WHERE id = ? AND revoked_at IS NULL",
      [args.now, args.agentId],
    );
    await conn.execute("UPDATE agent_credentials SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL", [args.now, args.agentId]);
    const revoked = (res as { affectedRows: number }).affectedRows === 1;
    if (revoked && args.by) {
      await recordAudit(conn, {
        at: args.now, actor: args.by.actor, role: args.by.role, action: "agent.revoked", target_type: "agent", target_id: args.agentId,
        result: "ok", request_id: args.by.requestId, details: {},
      });
    }
    return revoked;
  });
}

/** One agent row (revoked ones included), or null. */
export async function getAgentRow(pool: Pool, agentId: string): Promise<AgentRow | null> {
  const [rows] = await pool.execute("SELECT * FROM agents WHERE id = ?", [agentId]);
  return (rows as AgentRow[])[0] ?? null;
}

/** Agents that are not revoked, by id, with a cursor. */
export async function listAgentRows(pool: Pool, args: { limit: number; after?: string }): Promise<AgentRow[]> {
  const [rows] = await pool.query(
    `SELECT * FROM agents WHERE revoked_at IS NULL ${args.after ? "AND id > ?" : ""} ORDER BY id LIMIT ${Number(args.limit)}`,
    args.after ? [args.after] : [],
  );
  return rows as AgentRow[];
}

/** Attempt ids an agent holds now (ASSIGNED or RUNNING). */
export async function activeAttemptIds(pool: Pool, agentId: string): Promise<string[]> {
  const [rows] = await pool.execute("SELECT id FROM attempts WHERE agent_id = ? AND state IN ('ASSIGNED','RUNNING') ORDER BY assigned_at", [agentId]);
  return (rows as { id: string }[]).map((r) => r.id);
}

/** Which of `attemptIds` were ever assigned to the agent (any state): its own, as opposed to ids it has no claim on. */
export async function attemptIdsOfAgent(pool: Pool, agentId: string, attemptIds: string[]): Promise<string[]> {
  if (attemptIds.length === 0) return [];
  const [rows] = await pool.query("SELECT id FROM attempts WHERE agent_id = ? AND id IN (?)", [agentId, attemptIds]);
  return (rows as { id: string }[]).map((r) => r.id);
}

/** Active attempts of an agent with their job ids (for an agent that restarted). */
export async function activeAttempts(pool: Pool, agentId: string): Promise<{ id: string; job_id: string; state: string }[]> {
  const [rows] = await pool.execute("SELECT id, job_id, state FROM attempts WHERE agent_id = ? AND state IN ('ASSIGNED','RUNNING')", [agentId]);
  return rows as { id: string; job_id: string; state: string }[];
}
