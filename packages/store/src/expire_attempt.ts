// The reaper's transition for an expired lease (DESIGN.md rule 4): an attempt that never
// started goes back to PENDING (nothing ran); one that started is FAILED with cause
// lease_expired, re-queued only if max_attempts allows; a job wanted canceled ends
// CANCELED. Fenced on the attempt's state and the job's current attempt.
import type { Pool } from "./db.ts";
import { withTransaction } from "./db.ts";
import { recordTransition, type Transition } from "./history.ts";
import type { JobRow } from "./job_view.ts";

/** Ends an attempt whose lease ran out; returns the job's transition, or null if already handled. */
export async function expireAttempt(
  pool: Pool,
  args: { jobId: string; attemptId: string; leaseStarted: boolean; now: Date },
): Promise<Transition | null> {
  const { jobId, attemptId, now } = args;
  return withTransaction(pool, async (conn) => {
    const [atts] = await conn.execute("SELECT state, agent_id FROM attempts WHERE id = ? AND job_id = ? FOR UPDATE", [attemptId, jobId]);
    const att = (atts as { state: string; agent_id: string }[])[0];
    if (!att || (att.state !== "ASSIGNED" && att.state !== "RUNNING")) return null;
    const [jobs] = await conn.execute("SELECT * FROM jobs WHERE id = ? AND current_attempt_id = ? FOR UPDATE", [jobId, attemptId]);
    const job = (jobs as JobRow[])[0];
    if (!job || (job.state !== "ASSIGNED" && job.state !== "RUNNING")) return null;

    // The lease's started flag is set before the agent spawns, so it is the earliest proof
    // that something may have run, earlier than the RUNNING row.
    const started = att.state === "RUNNING" || args.leaseStarted;
    const startedCount = job.attempts_started + (att.state === "ASSIGNED" && started ? 1 : 0);
    const base = { job_id: jobId, attempt_id: attemptId, agent_id: att.agent_id, from: job.state, at: now } as const;

    if (!started) {
      await conn.execute(
        "UPDATE attempts SET state = 'EXPIRED', finished_at = ?, error_code = 'lease_expired', error_message = 'Lease expired before the attempt started' WHERE id = ?",
        [now, attemptId],
      );
    } else {
      await conn.execute(
        "UPDATE attempts SET state = 'FAILED', started_at = COALESCE(started_at, ?), finished_at = ?, error_code = 'lease_expired', error_message = 'Lease on the attempt expired' WHERE id = ?",
        [now, now, attemptId],
      );
    }
    let transition: Transition;
    if (job.cancel_requested_at) {
      transition = { ...base, to: "CANCELED", cause: "canceled" };
    } else if (!started) {
      transition = { ...base, to: "PENDING", cause: "lease_expired_before_start" };
    } else if (startedCount < job.max_attempts) {
      transition = { ...base, to: "PENDING", cause: "requeued" };
    } else {
      transition = { ...base, to: "FAILED", cause: "lease_expired" };
    }
    await conn.execute(
      `UPDATE jobs SET state = ?, attempts_started = ?, current_attempt_id = ?, updated_at = ? WHERE id = ?`,
      [transition.to, startedCount, transition.to === "PENDING" ? null : attemptId, now, jobId],
    );
    return recordTransition(conn, transition);
  });
}
