// Transition PENDING → ASSIGNED: one transaction that locks the job and one eligible agent
// with a free slot (SKIP LOCKED, so several schedulers never pick the same job or the
// same slot), creates the attempt, and grants its lease before committing, so a
// committed attempt always has a lease for the reaper to watch.
import { ID_PREFIX, newId } from "@labbridge/protocol";
import type { Conn, Pool } from "./db.ts";
import { withTransaction } from "./db.ts";
import { recordTransition, type Transition } from "./history.ts";
import { parseSpec, type JobRow, type StoredSpec } from "./job_view.ts";

/** A committed assignment. */
export interface Assignment {
  jobId: string;
  attemptId: string;
  agentId: string;
  gatewayId: string;
  spec: StoredSpec;
  timeoutSeconds: number;
  transition: Transition;
}

interface CandidateRow {
  id: string;
  os: string;
  labels: string;
  gateway_id: string | null;
}

/** True when an agent's os and labels satisfy a job's requirements. */
export function agentFits(spec: StoredSpec, agent: { os: string; labels: Record<string, string> }): boolean {
  const req = spec.requirements ?? {};
  if (req.os && req.os !== agent.os) return false;
  for (const [k, v] of Object.entries(req.labels ?? {})) if (agent.labels[k] !== v) return false;
  return true;
}

/**
 * Assigns one PENDING job to an eligible agent. Returns null when the job is not PENDING
 * (any more), is wanted canceled, or no agent fits right now.
 * `grantLease` runs inside the transaction; if it throws, nothing is committed.
 */
export async function assignJob(
  pool: Pool,
  args: { jobId: string; now: Date; grantLease: (a: { attemptId: string; agentId: string; jobId: string }) => Promise<void> },
): Promise<Assignment | null> {
  const { jobId, now } = args;
  return withTransaction(pool, async (conn) => {
    const [jobs] = await conn.execute(
      "SELECT * FROM jobs WHERE id = ? AND state = 'PENDING' AND cancel_requested_at IS NULL FOR UPDATE SKIP LOCKED",
      [jobId],
    );
    const job = (jobs as JobRow[])[0];
    if (!job) return null;
    const spec = parseSpec(job);
    const agent = await lockFreeAgent(conn, spec);
    if (!agent) return null;

    const [counts] = await conn.execute("SELECT COUNT(*) AS n FROM attempts WHERE job_id = ?", [jobId]);
    const number = Number((counts as { n: number }[])[0]?.n ?? 0) + 1;
    const attemptId = newId(ID_PREFIX.attempt, now.getTime());
    await conn.execute(
      "INSERT INTO attempts (id, job_id, number, agent_id, state, assigned_at) VALUES (?, ?, ?, ?, 'ASSIGNED', ?)",
      [attemptId, jobId, number, agent.id, now],
    );
    const [upd] = await conn.execute(
      "UPDATE jobs SET state = 'ASSIGNED', current_attempt_id = ?, updated_at = ? WHERE id = ? AND state = 'PENDING'",
      [attemptId, now, jobId],
    );
    if ((upd as { affectedRows: number }).affectedRows !== 1) throw new Error(`Job "${jobId}" left PENDING while locked`);
    await conn.execute("UPDATE agents SET last_assigned_at = ? WHERE id = ?", [now, agent.id]);
    const transition = await recordTransition(conn, {
      job_id: jobId, attempt_id: attemptId, agent_id: agent.id, from: "PENDING", to: "ASSIGNED", cause: "assigned", at: now,
    });
    await args.grantLease({ attemptId, agentId: agent.id, jobId });
    return { jobId, attemptId, agentId: agent.id, gatewayId: agent.gatewayId, spec, timeoutSeconds: job.timeout_seconds, transition };
  }, { isolation: "READ COMMITTED" });
}

// Candidates are read without locks, then locked one at a time (SKIP LOCKED) and checked
// again with current reads: an agent another scheduler is assigning right now is skipped,
// not waited for, and no scheduler holds more than the one agent row it assigns to.
async function lockFreeAgent(conn: Conn, spec: StoredSpec): Promise<{ id: string; gatewayId: string } | null> {
  const [candidates] = await conn.query(
    `SELECT a.id, a.os, a.labels, a.gateway_id FROM agents a
     WHERE a.status = 'ONLINE' AND a.paused = 0 AND a.revoked_at IS NULL AND a.gateway_id IS NOT NULL
       AND (SELECT COUNT(*) FROM attempts t WHERE t.agent_id = a.id AND t.state IN ('ASSIGNED','RUNNING')) < a.slots
     ORDER BY a.last_assigned_at IS NULL DESC, a.last_assigned_at ASC
     LIMIT 100`,
  );
  const fitting = (candidates as CandidateRow[]).filter((a) => agentFits(spec, { os: a.os, labels: JSON.parse(a.labels) as Record<string, string> }));
  for (const candidate of fitting) {
    const [locked] = await conn.execute(
      `SELECT id, os, labels, gateway_id, slots FROM agents
       WHERE id = ? AND status = 'ONLINE' AND paused = 0 AND revoked_at IS NULL AND gateway_id IS NOT NULL
       FOR UPDATE SKIP LOCKED`,
      [candidate.id],
    );
    const agent = (locked as (CandidateRow & { slots: number })[])[0];
    if (!agent?.gateway_id) continue;
    // READ COMMITTED: this count sees every assignment committed before we took the agent's
    // lock, and every later one must wait for that lock.
    const [busy] = await conn.execute(
      "SELECT COUNT(*) AS n FROM attempts WHERE agent_id = ? AND state IN ('ASSIGNED','RUNNING')",
      [agent.id],
    );
    if (Number((busy as { n: number }[])[0]?.n ?? 0) < agent.slots) return { id: agent.id, gatewayId: agent.gateway_id };
  }
  return null;
}

/** Ids of PENDING jobs, oldest first, for the scheduler's sweep. */
export async function pendingJobIds(pool: Pool, limit: number): Promise<{ id: string; cancelRequested: boolean }[]> {
  const [rows] = await pool.query(
    `SELECT id, cancel_requested_at FROM jobs WHERE state = 'PENDING' ORDER BY created_at, id LIMIT ${Number(limit)}`,
  );
  return (rows as { id: string; cancel_requested_at: Date | null }[]).map((r) => ({ id: r.id, cancelRequested: r.cancel_requested_at !== null }));
}
