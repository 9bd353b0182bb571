// Transition ASSIGNED|RUNNING → SUCCEEDED|FAILED|CANCELED for the agent's report of an
// ended attempt. Fenced on the attempt's state and the job's current attempt, so a late
// or duplicated report of an old attempt changes nothing. ASSIGNED is accepted too: with
// several schedulers the `started` entry may be handled after the `finished` one.
// agent_stopped is the one failure the job did not cause (its agent was stopped under
// it): like a lost lease, it goes back to PENDING if max_attempts allows, and a job
// wanted canceled ends CANCELED.
import type { ErrorCode, OutputFile, TransitionCause } from "@labbridge/protocol";
import type { Conn, Pool } from "./db.ts";
import { withTransaction } from "./db.ts";
import { recordTransition, type Transition } from "./history.ts";

/** How an attempt ended, as the agent reported it. */
export interface AttemptResult {
  outcome: "succeeded" | "failed" | "canceled";
  exitCode: number | null;
  error: { code: ErrorCode; message: string } | null;
  outputs: OutputFile[];
}

const STATE = { succeeded: "SUCCEEDED", failed: "FAILED", canceled: "CANCELED" } as const;

/** Records the end of an attempt; returns the transition, or null when the fence did not match. */
export async function finishAttempt(
  pool: Pool,
  args: { jobId: string; attemptId: string; agentId: string; result: AttemptResult; now: Date },
): Promise<Transition | null> {
  const { jobId, attemptId, agentId, result, now } = args;
  const to = STATE[result.outcome];
  return withTransaction(pool, async (conn) => {
    const [rows] = await conn.execute(
      "SELECT state FROM attempts WHERE id = ? AND job_id = ? AND agent_id = ? FOR UPDATE",
      [attemptId, jobId, agentId],
    );
    const from = (rows as { state: string }[])[0]?.state;
    if (from !== "ASSIGNED" && from !== "RUNNING") return null;
    const after = result.outcome === "failed" && result.error?.code === "agent_stopped" ? await afterStop(conn, jobId, attemptId, from) : null;
    const jobTo = after?.to ?? to;
    const [job] = await conn.execute(
      `UPDATE jobs SET state = ?, attempts_started = attempts_started + ?, current_attempt_id = IF(? = 'PENDING', NULL, current_attempt_id), updated_at = ?
       WHERE id = ? AND current_attempt_id = ? AND state IN ('ASSIGNED','RUNNING')`,
      [jobTo, from === "ASSIGNED" ? 1 : 0, jobTo, now, jobId, attemptId],
    );
    // The job fence first: a report for an attempt that is not the job's current one
    // changes nothing at all, attempt row included.
    if ((job as { affectedRows: number }).affectedRows !== 1) return null;
    await conn.execute(
      `UPDATE attempts SET state = ?, started_at = COALESCE(started_at, ?), finished_at = ?, exit_code = ?, error_code = ?, error_message = ?
       WHERE id = ?`,
      [to, now, now, result.exitCode, result.error?.code ?? null, result.error?.message.slice(0, 2048) ?? null, attemptId],
    );
    for (const o of result.outputs) {
      await conn.execute(
        "INSERT IGNORE INTO job_outputs (attempt_id, path, job_id, object_key, size, sha256) VALUES (?, ?, ?, ?, ?, ?)",
        [attemptId, o.path, jobId, o.key, o.size, o.sha256],
      );
    }
    const cause: TransitionCause = after?.cause ??
      (result.outcome === "succeeded" ? "succeeded" : result.outcome === "canceled" ? "canceled" : causeOf(result.error?.code));
    return recordTransition(conn, { job_id: jobId, attempt_id: attemptId, agent_id: agentId, from: from as "RUNNING", to: jobTo, cause, at: now });
  });
}

/** Where a job goes when its agent was stopped under it, when that is not simply FAILED. */
async function afterStop(conn: Conn, jobId: string, attemptId: string, from: "ASSIGNED" | "RUNNING") {
  const [rows] = await conn.execute(
    "SELECT attempts_started, max_attempts, cancel_requested_at FROM jobs WHERE id = ? AND current_attempt_id = ? FOR UPDATE",
    [jobId, attemptId],
  );
  const job = (rows as { attempts_started: number; max_attempts: number; cancel_requested_at: Date | null }[])[0];
  if (!job) return null;
  if (job.cancel_requested_at) return { to: "CANCELED", cause: "canceled" } as const;
  const started = job.attempts_started + (from === "ASSIGNED" ? 1 : 0);
  return started < job.max_attempts ? ({ to: "PENDING", cause: "requeued" } as const) : null;
}

function causeOf(code: ErrorCode | undefined): TransitionCause {
  switch (code) {
    case "timeout":
    case "spawn_failed":
    case "input_download_failed":
    case "output_upload_failed":
    case "agent_restarted":
    case "agent_stopped":
      return code;
    default:
      return "exit_nonzero";
  }
}
