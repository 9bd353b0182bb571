// One chunk of an attempt's reported outputs into `job_outputs`, before the gateway acks
// it. Fenced on the attempt: only while it is ASSIGNED or RUNNING on the reporting agent,
// so nothing is added to an attempt that has already ended. INSERT IGNORE on the key
// (attempt_id, path) makes a chunk sent again (after a reconnect, to any gateway) a no-op.
import type { OutputFile } from "@labbridge/protocol";
import { MYSQL_ERRNO, retryOnErrno, withTransaction, type Conn, type Pool } from "./db.ts";

/** Whether the chunk is recorded, or the attempt no longer takes outputs (ended, or not this agent's). */
export type RecordOutputsResult = "recorded" | "settled";

const ROWS_PER_STATEMENT = 500;

/**
 * Records outputs of a live attempt; each row at most once. The same chunk arriving at two
 * gateways at once can deadlock on its rows; the loser is tried again and then finds them.
 */
export async function recordOutputs(
  pool: Pool,
  args: { jobId: string; attemptId: string; agentId: string; outputs: readonly OutputFile[] },
): Promise<RecordOutputsResult> {
  return retryOnErrno([MYSQL_ERRNO.deadlock, MYSQL_ERRNO.lockWaitTimeout], () => recordOnce(pool, args));
}

async function recordOnce(
  pool: Pool,
  args: { jobId: string; attemptId: string; agentId: string; outputs: readonly OutputFile[] },
): Promise<RecordOutputsResult> {
  const { jobId, attemptId, agentId, outputs } = args;
  return withTransaction(pool, async (conn) => {
    // A shared lock: finishAttempt's FOR UPDATE waits for this chunk, so its count sees it.
    const [rows] = await conn.execute(
      "SELECT state FROM attempts WHERE id = ? AND job_id = ? AND agent_id = ? LOCK IN SHARE MODE",
      [attemptId, jobId, agentId],
    );
    const state = (rows as { state: string }[])[0]?.state;
    if (state !== "ASSIGNED" && state !== "RUNNING") return "settled";
    await insertOutputs(conn, jobId, attemptId, outputs);
    return "recorded";
  });
}

/** Inserts output rows, a row already there winning (INSERT IGNORE by attempt and path), in a few multi-row statements. */
export async function insertOutputs(conn: Conn, jobId: string, attemptId: string, outputs: readonly OutputFile[]): Promise<void> {
  for (let i = 0; i < outputs.length; i += ROWS_PER_STATEMENT) {
    const part = outputs.slice(i, i + ROWS_PER_STATEMENT);
    await conn.query(
      `INSERT IGNORE INTO job_outputs (attempt_id, path, job_id, object_key, size, sha256) VALUES ${part.map(() => "(?, ?, ?, ?, ?, ?)").join(", ")}`,
      part.flatMap((o) => [attemptId, o.path, jobId, o.key, o.size, o.sha256]),
    );
  }
}

/** Every output recorded for an attempt (read with a shared lock), for its count and digest. */
export async function recordedOutputs(conn: Conn, attemptId: string): Promise<{ path: string; size: number; sha256: string }[]> {
  const [rows] = await conn.query("SELECT path, size, sha256 FROM job_outputs WHERE attempt_id = ? LOCK IN SHARE MODE", [attemptId]);
  return (rows as { path: string; size: number | string; sha256: string }[]).map((r) => ({ path: r.path, size: Number(r.size), sha256: r.sha256 }));
}
