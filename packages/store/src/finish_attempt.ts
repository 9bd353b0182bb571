// Transition ASSIGNED|RUNNING → SUCCEEDED|FAILED|CANCELED for the agent's report of an
// ended attempt. Fenced on the attempt's state and the job's current attempt, so a late
// or duplicated report of an old attempt changes nothing. ASSIGNED is accepted too: with
// several schedulers the `started` entry may be handled after the `finished` one.
// agent_stopped is the one failure the job did not cause (its agent was stopped under
// it): like a lost lease, it goes back to PENDING if max_attempts allows, and a job
// wanted canceled ends CANCELED.
// A success counts only with every output the agent uploaded recorded: the count and
// digest it reported must match the `job_outputs` rows (recorded chunk by chunk by the
// gateway), or the attempt ends FAILED with output_upload_failed instead.
import { outputsDigest, type ErrorCode, type OutputFile, type TransitionCause } from "@labbridge/protocol";
import type { Conn, Pool } from "./db.ts";
import { withTransaction } from "./db.ts";
import { recordTransition, type Transition } from "./history.ts";
import { insertOutputs, recordedOutputs } from "./record_outputs.ts";

/** How an attempt ended, as the agent reported it. */
export interface AttemptResult {
  outcome: "succeeded" | "failed" | "canceled";
  exitCode: number | null;
  error: { code: ErrorCode; message: string } | null;
  /** Outputs listed in the report itself (an older agent); recorded here. */
  outputs: OutputFile[];
  /** What the agent says it recorded in all (`output_count`, `outputs_digest`); null for an older report that listed them all. */
  expectedOutputs?: { count: number; digest: string } | null;
}

const STATE = { succeeded: "SUCCEEDED", failed: "FAILED", canceled: "CANCELED" } as const;

/** Records the end of an attempt; returns the transition, or null when the fence did not match. */
export async function finishAttempt(
  pool: Pool,
  args: { jobId: string; attemptId: string; agentId: string; result: AttemptResult; now: Date },
): Promise<Transition | null> {
  const { jobId, attemptId, agentId, now } = args;
  return withTransaction(pool, async (conn) => {
    const [rows] = await conn.execute(
      "SELECT state FROM attempts WHERE id = ? AND job_id = ? AND agent_id = ? FOR UPDATE",
      [attemptId, jobId, agentId],
    );
    const from = (rows as { state: string }[])[0]?.state;
    if (from !== "ASSIGNED" && from !== "RUNNING") return null;
    const result = await checkOutputs(conn, attemptId, args.result);
    const to = STATE[result.outcome];
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
    await insertOutputs(conn, jobId, attemptId, result.outputs);
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

/**
 * The result to record: as reported, unless a success lacks outputs the agent said it
 * uploaded (or has others), which makes it a failure; a missing output must never hide
 * behind SUCCEEDED. Failures and cancels keep their own cause.
 */
async function checkOutputs(conn: Conn, attemptId: string, result: AttemptResult): Promise<AttemptResult> {
  const expected = result.expectedOutputs;
  if (!expected || result.outcome !== "succeeded") return result;
  // What the table will hold once this report's own list is inserted (a row already there wins, as with INSERT IGNORE).
  const byPath = new Map((await recordedOutputs(conn, attemptId)).map((o) => [o.path, o]));
  for (const o of result.outputs) if (!byPath.has(o.path)) byPath.set(o.path, o);
  const recorded = [...byPath.values()];
  const digest = await outputsDigest(recorded);
  if (recorded.length === expected.count && digest === expected.digest) return result;
  const message = recorded.length !== expected.count
    ? `The agent reported ${expected.count} outputs but ${recorded.length} were recorded`
    : `The recorded outputs do not match the agent's digest "${expected.digest}"`;
  return { ...result, outcome: "failed", error: { code: "output_upload_failed", message } };
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
