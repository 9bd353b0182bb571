// Reads over the attempts that are still in hand (ASSIGNED or RUNNING) and current for
// their job, for the sweeps that must not depend on Redis or on an agent's word: leases
// Redis lost, attempts overdue past their timeout, and assignments to re-send after an
// agent moved to another gateway.
import type { Pool } from "./db.ts";
import { parseHeld, type HeldGpu } from "./job_fit.ts";
import type { StoredSpec } from "./job_view.ts";

/** An attempt in hand, with the job it belongs to. */
export interface ActiveAttempt {
  id: string;
  jobId: string;
  agentId: string;
  state: "ASSIGNED" | "RUNNING";
}

interface Row {
  id: string;
  job_id: string;
  agent_id: string;
  state: "ASSIGNED" | "RUNNING";
}

const toActive = (r: Row): ActiveAttempt => ({ id: r.id, jobId: r.job_id, agentId: r.agent_id, state: r.state });

/** Active attempts with an id after `afterId`, in id order, at most `limit` (a page of a full walk). */
export async function activeAttemptsAfter(pool: Pool, afterId: string, limit: number): Promise<ActiveAttempt[]> {
  const [rows] = await pool.query(
    `SELECT a.id, a.job_id, a.agent_id, a.state FROM attempts a JOIN jobs j ON j.id = a.job_id AND j.current_attempt_id = a.id
     WHERE a.state IN ('ASSIGNED','RUNNING') AND a.id > ? ORDER BY a.id LIMIT ${Number(limit)}`,
    [afterId],
  );
  return (rows as Row[]).map(toActive);
}

/** Of these attempt ids, the ones still ASSIGNED or RUNNING and current for their job. */
export async function stillActive(pool: Pool, attemptIds: string[]): Promise<Set<string>> {
  if (attemptIds.length === 0) return new Set();
  const [rows] = await pool.query(
    `SELECT a.id FROM attempts a JOIN jobs j ON j.id = a.job_id AND j.current_attempt_id = a.id
     WHERE a.state IN ('ASSIGNED','RUNNING') AND a.id IN (?)`,
    [attemptIds],
  );
  return new Set((rows as { id: string }[]).map((r) => r.id));
}

/** RUNNING attempts that started more than their job's timeout plus `graceSeconds` before `now`. */
export async function overdueAttempts(pool: Pool, now: Date, graceSeconds: number, limit: number): Promise<(ActiveAttempt & { timeoutSeconds: number })[]> {
  const [rows] = await pool.query(
    `SELECT a.id, a.job_id, a.agent_id, a.state, j.timeout_seconds FROM attempts a JOIN jobs j ON j.id = a.job_id AND j.current_attempt_id = a.id
     WHERE a.state = 'RUNNING' AND j.state = 'RUNNING'
       AND TIMESTAMPADD(MICROSECOND, (j.timeout_seconds + ?) * 1000000, a.started_at) < ?
     ORDER BY a.started_at LIMIT ${Number(limit)}`,
    [graceSeconds, now],
  );
  return (rows as (Row & { timeout_seconds: number })[]).map((r) => ({ ...toActive(r), timeoutSeconds: r.timeout_seconds }));
}

/** An assignment as the gateway delivers it. */
export interface PendingAssignment {
  attemptId: string;
  jobId: string;
  agentId: string;
  spec: StoredSpec;
  timeoutSeconds: number;
  /** The GPUs the attempt holds (`[]`: none). */
  gpus: HeldGpu[];
}

/** The agent's assignments it has not started yet (to send again through its current gateway). */
export async function unstartedAssignments(pool: Pool, agentId: string): Promise<PendingAssignment[]> {
  const [rows] = await pool.execute(
    `SELECT a.id, a.job_id, a.gpus, j.spec, j.timeout_seconds FROM attempts a JOIN jobs j ON j.id = a.job_id AND j.current_attempt_id = a.id
     WHERE a.agent_id = ? AND a.state = 'ASSIGNED' AND j.state = 'ASSIGNED' ORDER BY a.assigned_at`,
    [agentId],
  );
  return (rows as { id: string; job_id: string; gpus: string; spec: string; timeout_seconds: number }[]).map((r) => ({
    attemptId: r.id, jobId: r.job_id, agentId, spec: JSON.parse(r.spec) as StoredSpec, timeoutSeconds: r.timeout_seconds, gpus: parseHeld(r.gpus),
  }));
}
