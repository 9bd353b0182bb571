// Transition PENDING → ASSIGNED for a batch of planned matches, in one READ COMMITTED
// transaction. The agents are locked first (id order, SKIP LOCKED) and their capacity read
// again under the locks, so two schedulers never hand out the same slot or GPU; the jobs
// are locked SKIP LOCKED and must still be PENDING and not wanted canceled. A match the
// current state no longer allows is dropped (its job stays PENDING for the next pass).
// Statements are set-based (one INSERT for all attempts, one UPDATE for all jobs), and the
// leases are granted before the commit, so a committed attempt always has a lease.
import { ID_PREFIX, newId } from "@labbridge/protocol";
import type { Conn, Pool } from "./db.ts";
import { withTransaction } from "./db.ts";
import { lockAgentsCapacity } from "./free_capacity.ts";
import type { Transition } from "./history.ts";
import { fitOn, needsOf, takeCapacity, type HeldGpu } from "./job_fit.ts";
import type { StoredSpec } from "./job_view.ts";
import type { PlannedMatch } from "./plan_matches.ts";

/** A committed assignment. */
export interface Assignment {
  jobId: string;
  attemptId: string;
  agentId: string;
  gatewayId: string;
  spec: StoredSpec;
  timeoutSeconds: number;
  /** The GPUs the attempt holds (`[]`: a slot only). */
  gpus: HeldGpu[];
  /** When the job was submitted (for the dispatch latency). */
  createdAt: Date;
  transition: Transition;
}

/** A lease to grant for a new attempt. */
export interface LeaseGrant {
  attemptId: string;
  agentId: string;
  jobId: string;
}

interface LockedJob {
  id: string;
  owner: string;
  spec: string;
  timeout_seconds: number;
  created_at: Date;
}

/**
 * Commits the matches the current state still allows; returns them. `grantLeases` runs
 * inside the transaction, after every write; if it throws, nothing is committed.
 */
export async function commitAssignments(
  pool: Pool,
  args: { matches: PlannedMatch[]; now: Date; grantLeases: (grants: LeaseGrant[]) => Promise<void> },
): Promise<Assignment[]> {
  const { matches, now } = args;
  if (matches.length === 0) return [];
  return withTransaction(pool, async (conn) => {
    const agents = await lockAgentsCapacity(conn, matches.map((m) => m.agentId));
    if (agents.size === 0) return [];
    const jobs = await lockPendingJobs(conn, matches.filter((m) => agents.has(m.agentId)).map((m) => m.jobId));
    const accepted: { match: PlannedMatch; job: LockedJob; spec: StoredSpec; gatewayId: string; gpus: HeldGpu[] }[] = [];
    for (const match of matches) {
      const agent = agents.get(match.agentId);
      const job = jobs.get(match.jobId);
      if (!agent || !job) continue;
      const spec = JSON.parse(job.spec) as StoredSpec;
      // Judged again on the locked state; the GPUs are picked again if the planned ones went.
      const needs = needsOf(spec.requirements);
      const free = new Set(agent.freeGpus.map((g) => g.index));
      const gpus = match.gpus.length === needs.gpus && match.gpus.every((g) => free.has(g.index)) && agent.freeSlots > 0
        ? match.gpus
        : fitOn(needs, agent);
      if (!gpus) continue;
      takeCapacity(agent, gpus);
      jobs.delete(match.jobId);
      accepted.push({ match, job, spec, gatewayId: agent.gatewayId, gpus });
    }
    if (accepted.length === 0) return [];

    const numbers = await nextAttemptNumbers(conn, accepted.map((a) => a.job.id));
    const rows = accepted.map((a) => ({ ...a, attemptId: newId(ID_PREFIX.attempt, now.getTime()) }));
    await conn.query(
      "INSERT INTO attempts (id, job_id, number, agent_id, state, assigned_at, gpus) VALUES ?",
      [rows.map((r) => [r.attemptId, r.job.id, numbers.get(r.job.id) ?? 1, r.match.agentId, "ASSIGNED", now, JSON.stringify(r.gpus)])],
    );
    const [upd] = await conn.query(
      `UPDATE jobs j JOIN attempts a ON a.job_id = j.id
       SET j.state = 'ASSIGNED', j.current_attempt_id = a.id, j.updated_at = ?
       WHERE a.id IN (?) AND j.state = 'PENDING'`,
      [now, rows.map((r) => r.attemptId)],
    );
    if ((upd as { affectedRows: number }).affectedRows !== rows.length) throw new Error("Jobs left PENDING while locked");
    await conn.query("UPDATE agents SET last_assigned_at = ? WHERE id IN (?)", [now, [...new Set(rows.map((r) => r.match.agentId))]]);
    await conn.query(
      "INSERT INTO owner_usage (owner, last_assigned_at) VALUES ? ON DUPLICATE KEY UPDATE last_assigned_at = GREATEST(last_assigned_at, VALUES(last_assigned_at))",
      // Sorted: two schedulers' batches take these row locks in the same order, so never deadlock on them.
      [[...new Set(rows.map((r) => r.job.owner))].sort().map((o) => [o, now])],
    );
    await conn.query(
      "INSERT INTO job_state_history (job_id, attempt_id, state, cause, at) VALUES ?",
      [rows.map((r) => [r.job.id, r.attemptId, "ASSIGNED", "assigned", now])],
    );
    await args.grantLeases(rows.map((r) => ({ attemptId: r.attemptId, agentId: r.match.agentId, jobId: r.job.id })));
    return rows.map((r) => ({
      jobId: r.job.id,
      attemptId: r.attemptId,
      agentId: r.match.agentId,
      gatewayId: r.gatewayId,
      spec: r.spec,
      timeoutSeconds: r.job.timeout_seconds,
      gpus: r.gpus,
      createdAt: r.job.created_at,
      transition: { job_id: r.job.id, attempt_id: r.attemptId, agent_id: r.match.agentId, from: "PENDING", to: "ASSIGNED", cause: "assigned", at: now },
    }));
  }, { isolation: "READ COMMITTED" });
}

async function lockPendingJobs(conn: Conn, jobIds: string[]): Promise<Map<string, LockedJob>> {
  if (jobIds.length === 0) return new Map();
  const [rows] = await conn.query(
    `SELECT id, owner, spec, timeout_seconds, created_at FROM jobs
     WHERE id IN (?) AND state = 'PENDING' AND cancel_requested_at IS NULL FOR UPDATE SKIP LOCKED`,
    [jobIds],
  );
  return new Map((rows as LockedJob[]).map((j) => [j.id, j]));
}

// One grouped read for the whole batch: each job's next attempt number.
async function nextAttemptNumbers(conn: Conn, jobIds: string[]): Promise<Map<string, number>> {
  const [rows] = await conn.query("SELECT job_id, MAX(number) AS n FROM attempts WHERE job_id IN (?) GROUP BY job_id", [jobIds]);
  return new Map((rows as { job_id: string; n: number }[]).map((r) => [r.job_id, Number(r.n) + 1]));
}
