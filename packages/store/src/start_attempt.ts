// Transition ASSIGNED → RUNNING, fenced on the job's current attempt. The gateway has
// already marked the lease started in Redis before the agent spawned anything; this
// records it in MySQL. Safe to run twice: the second run changes nothing.
import type { Pool } from "./db.ts";
import { withTransaction } from "./db.ts";
import { recordTransition, type Transition } from "./history.ts";

/** Marks an attempt and its job RUNNING; returns the transition, or null when the fence did not match. */
export async function startAttempt(
  pool: Pool,
  args: { jobId: string; attemptId: string; agentId: string; now: Date },
): Promise<Transition | null> {
  const { jobId, attemptId, agentId, now } = args;
  return withTransaction(pool, async (conn) => {
    const [att] = await conn.execute(
      "UPDATE attempts SET state = 'RUNNING', started_at = ? WHERE id = ? AND job_id = ? AND agent_id = ? AND state = 'ASSIGNED'",
      [now, attemptId, jobId, agentId],
    );
    if ((att as { affectedRows: number }).affectedRows !== 1) return null;
    const [job] = await conn.execute(
      `UPDATE jobs SET state = 'RUNNING', attempts_started = attempts_started + 1, updated_at = ?
       WHERE id = ? AND current_attempt_id = ? AND state = 'ASSIGNED'`,
      [now, jobId, attemptId],
    );
    if ((job as { affectedRows: number }).affectedRows !== 1) throw new Error(`Job "${jobId}" is not ASSIGNED to "${attemptId}"`);
    return recordTransition(conn, { job_id: jobId, attempt_id: attemptId, agent_id: agentId, from: "ASSIGNED", to: "RUNNING", cause: "started", at: now });
  });
}
