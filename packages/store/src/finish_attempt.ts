// Transition ASSIGNED|RUNNING → SUCCEEDED|FAILED|CANCELED for the agent's report of an
// ended attempt. Fenced on the attempt's state and the job's current attempt, so a late
// or duplicated report of an old attempt changes nothing. ASSIGNED is accepted too: with
// several schedulers the `started` entry may be handled after the `finished` one.
import type { ErrorCode, OutputFile, TransitionCause } from "@labbridge/protocol";
import type { Pool } from "./db.ts";
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
    const [job] = await conn.execute(
      `UPDATE jobs SET state = ?, attempts_started = attempts_started + ?, updated_at = ?
       WHERE id = ? AND current_attempt_id = ? AND state IN ('ASSIGNED','RUNNING')`,
      [to, from === "ASSIGNED" ? 1 : 0, now, jobId, attemptId],
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
    const cause: TransitionCause = result.outcome === "succeeded" ? "succeeded" : result.outcome === "canceled" ? "canceled" : causeOf(result.error?.code);
    return recordTransition(conn, { job_id: jobId, attempt_id: attemptId, agent_id: agentId, from: from as "RUNNING", to, cause, at: now });
  });
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
