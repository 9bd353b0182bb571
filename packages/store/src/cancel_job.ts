// The scheduler's handling of a cancel request. PENDING → CANCELED at once; ASSIGNED and not
// started → CANCELED at once, after atomically removing the lease only if it is not marked
// started (so a start cannot be granted in between), and the agent is told to drop it; RUNNING → the agent must kill the process tree and report, so nothing
// changes here yet.
import type { Pool } from "./db.ts";
import { withTransaction } from "./db.ts";
import { recordTransition, type Transition } from "./history.ts";
import type { JobRow } from "./job_view.ts";

/** What the scheduler must do after a cancel request. */
export type CancelOutcome =
  | { kind: "canceled"; transition: Transition; attempt: { id: string; agentId: string } | null }
  | { kind: "signal_agent"; attemptId: string; agentId: string }
  | { kind: "nothing" };

/** Applies a cancel request to the job as it is now. */
export async function cancelJob(
  pool: Pool,
  args: { jobId: string; now: Date; revokeUnstartedLease: (attemptId: string) => Promise<boolean> },
): Promise<CancelOutcome> {
  const { jobId, now } = args;
  return withTransaction(pool, async (conn) => {
    const [jobs] = await conn.execute("SELECT * FROM jobs WHERE id = ? FOR UPDATE", [jobId]);
    const job = (jobs as JobRow[])[0];
    if (!job || !job.cancel_requested_at) return { kind: "nothing" };
    if (job.state === "PENDING") {
      await conn.execute("UPDATE jobs SET state = 'CANCELED', updated_at = ? WHERE id = ? AND state = 'PENDING'", [now, jobId]);
      const transition = await recordTransition(conn, { job_id: jobId, attempt_id: null, agent_id: null, from: "PENDING", to: "CANCELED", cause: "cancel_requested", at: now });
      return { kind: "canceled", transition, attempt: null };
    }
    if ((job.state !== "ASSIGNED" && job.state !== "RUNNING") || !job.current_attempt_id) return { kind: "nothing" };
    const [atts] = await conn.execute("SELECT state, agent_id FROM attempts WHERE id = ? FOR UPDATE", [job.current_attempt_id]);
    const att = (atts as { state: string; agent_id: string }[])[0];
    if (!att) return { kind: "nothing" };
    if (job.state === "ASSIGNED" && att.state === "ASSIGNED" && (await args.revokeUnstartedLease(job.current_attempt_id))) {
      await conn.execute(
        "UPDATE attempts SET state = 'CANCELED', finished_at = ?, error_code = 'canceled', error_message = 'Canceled before it started' WHERE id = ? AND state = 'ASSIGNED'",
        [now, job.current_attempt_id],
      );
      await conn.execute("UPDATE jobs SET state = 'CANCELED', updated_at = ? WHERE id = ? AND state = 'ASSIGNED'", [now, jobId]);
      const transition = await recordTransition(conn, {
        job_id: jobId, attempt_id: job.current_attempt_id, agent_id: att.agent_id, from: "ASSIGNED", to: "CANCELED", cause: "cancel_requested", at: now,
      });
      return { kind: "canceled", transition, attempt: { id: job.current_attempt_id, agentId: att.agent_id } };
    }
    return { kind: "signal_agent", attemptId: job.current_attempt_id, agentId: att.agent_id };
  });
}

/** Active jobs whose cancel was requested before `before` and has not taken effect (a lost stream entry, an agent that missed the command). */
export async function staleCancelJobIds(pool: Pool, before: Date, limit: number): Promise<string[]> {
  const [rows] = await pool.query(
    `SELECT id FROM jobs WHERE state IN ('ASSIGNED','RUNNING') AND cancel_requested_at IS NOT NULL AND cancel_requested_at < ?
     ORDER BY cancel_requested_at LIMIT ${Number(limit)}`,
    [before],
  );
  return (rows as { id: string }[]).map((r) => r.id);
}
