// Jobs as the API writes and reads them: creation (with idempotency keys), the full job
// view, lists with opaque cursors, and cancel requests.
import { createHash } from "node:crypto";
import { ID_PREFIX, isId, newId, TERMINAL_JOB_STATES, type JobSpec, type JobState } from "@labbridge/protocol";
import type { Pool } from "./db.ts";
import { MYSQL_ERRNO, retryOnErrno, withTransaction } from "./db.ts";
import { recordAudit, type AuditActor } from "./audit_repo.ts";
import { recordTransition, type Transition } from "./history.ts";
import { attachQueue } from "./queue_status.ts";
import { toJobView, type AttemptRow, type JobRow, type JobView, type OutputRow } from "./job_view.ts";

/** Result of a create: the job and whether this call made it. */
export interface CreateJobResult {
  job: JobView;
  created: boolean;
  transition: Transition | null;
}

/** Thrown when an idempotency key is reused with a different request body. */
export class IdempotencyConflictError extends Error {}

/** Digest of a request body, to tell a replay from a different request with the same key. */
export function requestHash(spec: JobSpec): string {
  return createHash("sha256").update(JSON.stringify(spec)).digest("hex");
}

/** Inserts a PENDING job, or returns the job an earlier call with the same idempotency key made. */
export async function createJob(
  pool: Pool,
  args: { owner: string; spec: JobSpec; idempotencyKey: string | null; now: Date; idempotencyTtlMs?: number },
): Promise<CreateJobResult> {
  const { owner, spec, idempotencyKey, now } = args;
  const hash = requestHash(spec);
  const ttl = args.idempotencyTtlMs ?? 24 * 3600 * 1000;
  // The key row is claimed first (INSERT IGNORE): a concurrent retry with the same key
  // waits on that row until the first commits, then finds it and returns the first job.
  // Claiming first, rather than SELECT … FOR UPDATE on a missing row, avoids the gap-lock
  // deadlocks several concurrent retries would otherwise run into.
  const result = await retryOnConflict(() => withTransaction(pool, async (conn) => {
    const jobId = newId(ID_PREFIX.job, now.getTime());
    if (idempotencyKey) {
      const [claim] = await conn.execute(
        "INSERT IGNORE INTO idempotency_keys (owner, idem_key, request_hash, job_id, created_at) VALUES (?, ?, ?, ?, ?)",
        [owner, idempotencyKey, hash, jobId, now],
      );
      if ((claim as { affectedRows: number }).affectedRows === 0) {
        // A plain read: this transaction's snapshot starts here, after the winner's commit.
        // FOR UPDATE would upgrade the shared lock every waiter holds and deadlock them.
        const [rows] = await conn.execute(
          "SELECT request_hash, job_id, created_at FROM idempotency_keys WHERE owner = ? AND idem_key = ?",
          [owner, idempotencyKey],
        );
        const prior = (rows as { request_hash: string; job_id: string; created_at: Date }[])[0];
        if (prior && now.getTime() - prior.created_at.getTime() < ttl) {
          if (prior.request_hash !== hash) throw new IdempotencyConflictError(`Idempotency key "${idempotencyKey}" was used with a different request`);
          return { jobId: prior.job_id, created: false, transition: null };
        }
        // An expired key is reused for the new job.
        await conn.execute(
          "UPDATE idempotency_keys SET request_hash = ?, job_id = ?, created_at = ? WHERE owner = ? AND idem_key = ?",
          [hash, jobId, now, owner, idempotencyKey],
        );
      }
    }
    const body = { command: spec.command, env: spec.env, inputs: spec.inputs, requirements: spec.requirements, priority: spec.priority };
    await conn.execute(
      `INSERT INTO jobs (id, owner, name, state, spec, timeout_seconds, max_attempts, priority, created_at, updated_at)
       VALUES (?, ?, ?, 'PENDING', ?, ?, ?, ?, ?, ?)`,
      [jobId, owner, spec.name, JSON.stringify(body), spec.timeout_seconds, spec.max_attempts, spec.priority, now, now],
    );
    const transition = await recordTransition(conn, {
      job_id: jobId, attempt_id: null, agent_id: null, from: "PENDING", to: "PENDING", cause: "submitted", at: now,
    });
    return { jobId, created: true, transition };
  }));
  const job = await getJob(pool, result.jobId);
  if (!job) throw new Error(`Job "${result.jobId}" vanished after create`);
  return { job, created: result.created, transition: result.transition };
}

// A lost race (deadlock, duplicate key) is retried; the retry reads what the winner wrote.
const retryOnConflict = <T>(fn: () => Promise<T>) => retryOnErrno([MYSQL_ERRNO.deadlock, MYSQL_ERRNO.duplicateKey], fn);

/** The job with its attempts, outputs and history, or null. */
export async function getJob(pool: Pool, jobId: string): Promise<JobView | null> {
  const [jobs] = await pool.execute("SELECT * FROM jobs WHERE id = ?", [jobId]);
  const row = (jobs as JobRow[])[0];
  return row ? ((await jobViews(pool, [row]))[0] ?? null) : null;
}

type HistoryRow = { job_id: string; state: string; cause: string; at: Date; attempt_id: string | null };

/** Builds the views of several jobs with three queries in all, not three per job (and the queue's few for PENDING ones). */
async function jobViews(pool: Pool, rows: JobRow[]): Promise<JobView[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const marks = ids.map(() => "?").join(",");
  const [[attempts], [history], [outputs]] = await Promise.all([
    pool.query(`SELECT * FROM attempts WHERE job_id IN (${marks}) ORDER BY number`, ids),
    pool.query(`SELECT job_id, state, cause, at, attempt_id FROM job_state_history WHERE job_id IN (${marks}) ORDER BY id`, ids),
    pool.query(`SELECT o.* FROM job_outputs o JOIN jobs j ON j.id = o.job_id AND o.attempt_id = j.current_attempt_id WHERE o.job_id IN (${marks}) ORDER BY o.path`, ids),
  ]);
  const byJob = <T extends { job_id: string }>(list: T[]) => {
    const map = new Map<string, T[]>();
    for (const item of list) map.set(item.job_id, [...(map.get(item.job_id) ?? []), item]);
    return (id: string) => map.get(id) ?? [];
  };
  const attemptsOf = byJob(attempts as AttemptRow[]);
  const historyOf = byJob(history as HistoryRow[]);
  const outputsOf = byJob(outputs as OutputRow[]);
  const views = rows.map((r) => toJobView(r, attemptsOf(r.id), outputsOf(r.id), historyOf(r.id)));
  await attachQueue(pool, views);
  return views;
}

/** Raw job row (for the scheduler and cancel logic). */
export async function getJobRow(pool: Pool, jobId: string): Promise<JobRow | null> {
  const [rows] = await pool.execute("SELECT * FROM jobs WHERE id = ?", [jobId]);
  return (rows as JobRow[])[0] ?? null;
}

interface Cursor {
  c: string;
  i: string;
}

function encodeCursor(row: JobRow): string {
  return Buffer.from(JSON.stringify({ c: row.created_at.toISOString(), i: row.id } satisfies Cursor)).toString("base64url");
}

/** Thrown for a list cursor that is not one of ours (garbage, `null`, another id, a time MySQL cannot hold). */
export class InvalidCursorError extends Error {
  constructor(readonly cursor: string) {
    super(`Invalid cursor "${cursor}"`);
  }
}

// DATETIME holds years 1000 to 9999; our own cursors are all after 1970.
const CURSOR_TIME_RANGE = { min: 0, max: Date.UTC(9999, 11, 31) };

/** Decodes a list cursor; throws InvalidCursorError on anything we did not make. */
export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursorError(cursor);
  }
  const { c, i } = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Partial<Cursor>;
  const createdAt = new Date(typeof c === "string" ? c : Number.NaN);
  const t = createdAt.getTime();
  if (Number.isNaN(t) || t < CURSOR_TIME_RANGE.min || t > CURSOR_TIME_RANGE.max || !isId(i, ID_PREFIX.job)) throw new InvalidCursorError(cursor);
  return { createdAt, id: i };
}

/** Lists jobs newest first, filtered, with a cursor to the next page. */
export async function listJobs(
  pool: Pool,
  filter: { owner?: string; state?: JobState; agentId?: string; namePrefix?: string; limit: number; cursor?: string },
): Promise<{ items: JobView[]; next_cursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.owner) where.push("j.owner = ?"), params.push(filter.owner);
  if (filter.state) where.push("j.state = ?"), params.push(filter.state);
  // LIKE with the prefix's own % and _ escaped: "run_1" must not match "runX1…".
  if (filter.namePrefix) where.push("j.name LIKE ?"), params.push(`${filter.namePrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (filter.agentId) where.push("EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = j.id AND a.agent_id = ?)"), params.push(filter.agentId);
  if (filter.cursor) {
    const { createdAt, id } = decodeCursor(filter.cursor);
    where.push("(j.created_at < ? OR (j.created_at = ? AND j.id < ?))"), params.push(createdAt, createdAt, id);
  }
  const sql = `SELECT j.* FROM jobs j ${where.length ? "WHERE " + where.join(" AND ") : ""}
               ORDER BY j.created_at DESC, j.id DESC LIMIT ${Number(filter.limit) + 1}`;
  const [rows] = await pool.query(sql, params);
  const page = (rows as JobRow[]).slice(0, filter.limit);
  const items = await jobViews(pool, page);
  const last = page[page.length - 1];
  return { items, next_cursor: (rows as JobRow[]).length > filter.limit && last ? encodeCursor(last) : null };
}

/** Outcome of a cancel request. */
export type CancelRequest = "requested" | "not_found" | "already_finished";

/**
 * Marks a job as wanted canceled (durable, so a lost stream entry loses no cancel). With
 * `audit` (an admin canceling another owner's job), `job.cancel_requested` commits with it.
 */
export async function requestCancel(
  pool: Pool,
  jobId: string,
  now: Date,
  audit?: { by: AuditActor; details: Record<string, unknown> },
): Promise<CancelRequest> {
  const terminal = TERMINAL_JOB_STATES.map(() => "?").join(",");
  const requested = await withTransaction(pool, async (conn) => {
    const [res] = await conn.execute(
      `UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, ?), updated_at = ?
       WHERE id = ? AND state NOT IN (${terminal})`,
      [now, now, jobId, ...TERMINAL_JOB_STATES],
    );
    if ((res as { affectedRows: number }).affectedRows === 0) return false;
    if (audit) {
      await recordAudit(conn, {
        at: now, actor: audit.by.actor, role: audit.by.role, action: "job.cancel_requested", target_type: "job", target_id: jobId,
        result: "ok", request_id: audit.by.requestId, details: audit.details,
      });
    }
    return true;
  });
  if (requested) return "requested";
  return (await getJobRow(pool, jobId)) ? "already_finished" : "not_found";
}
