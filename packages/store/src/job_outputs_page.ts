// Pages of a job's outputs (those of its current attempt), ordered by path, for
// GET /v1/jobs/{id}/outputs?limit=…&cursor=…: a job may have tens of thousands, and each
// listed one gets a presigned URL, so a client can take them a few hundred at a time.
import type { Pool } from "./db.ts";
import type { OutputRow } from "./job_view.ts";

/** One page of outputs and whether more follow. */
export interface OutputsPage {
  outputs: { key: string; path: string; size: number; sha256: string }[];
  more: boolean;
}

/** Up to `limit` outputs of the job's current attempt with a path after `afterPath` (binary order, as the column collates). */
export async function jobOutputsPage(pool: Pool, jobId: string, opts: { limit: number; afterPath: string | null }): Promise<OutputsPage> {
  const [rows] = await pool.query(
    `SELECT o.* FROM job_outputs o JOIN jobs j ON j.id = o.job_id AND o.attempt_id = j.current_attempt_id
     WHERE o.job_id = ? AND o.path > ? ORDER BY o.path LIMIT ?`,
    [jobId, opts.afterPath ?? "", opts.limit + 1],
  );
  const list = rows as OutputRow[];
  return {
    outputs: list.slice(0, opts.limit).map((o) => ({ key: o.object_key, path: o.path, size: Number(o.size), sha256: o.sha256 })),
    more: list.length > opts.limit,
  };
}
