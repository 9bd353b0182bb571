// GET /v1/usage: wall-hours and GPU-hours of attempts over a time range, per owner or per
// agent. An attempt counts from started_at to finished_at (a running one up to now), clipped
// to the range, times the GPUs it held (attempts.gpus); one that recorded no GPUs (a job that
// asked for none sees every GPU of its agent) counts the GPUs its agent has.
import type { Pool } from "./db.ts";

/** How usage is grouped. */
export type UsageGroupBy = "owner" | "agent";

/** One group's usage. */
export interface UsageRow {
  /** The owner or the agent id, by `group_by`. */
  key: string;
  /** Attempts that ran for some of the range. */
  attempts: number;
  wallMs: number;
  gpuMs: number;
}

/** Usage of attempts that ran within [from, to), per owner or agent, largest GPU use first. */
export async function usageReport(
  pool: Pool,
  args: { from: Date; to: Date; groupBy: UsageGroupBy; now: Date; owner?: string },
): Promise<UsageRow[]> {
  // The end of a running attempt is now (never past `to`); a range wholly in the future counts nothing.
  const group = args.groupBy === "owner" ? "j.owner" : "a.agent_id";
  const params: unknown[] = [args.from, args.now, args.to, args.from, args.now, args.to, args.to, args.from];
  const ownerFilter = args.owner !== undefined ? "AND j.owner = ?" : "";
  if (args.owner !== undefined) params.push(args.owner);
  const [rows] = await pool.query(
    `SELECT k, COUNT(*) AS attempts, SUM(ms) AS wall_ms, SUM(ms * gpus) AS gpu_ms FROM (
       SELECT ${group} AS k,
         GREATEST(0, TIMESTAMPDIFF(MICROSECOND, GREATEST(a.started_at, ?), LEAST(COALESCE(a.finished_at, ?), ?))) DIV 1000 AS ms,
         COALESCE(NULLIF(JSON_LENGTH(a.gpus), 0), JSON_LENGTH(ag.gpus), 0) AS gpus,
         GREATEST(a.started_at, ?) AS clipped_start, LEAST(COALESCE(a.finished_at, ?), ?) AS clipped_end
       FROM attempts a JOIN jobs j ON j.id = a.job_id LEFT JOIN agents ag ON ag.id = a.agent_id
       WHERE a.started_at IS NOT NULL AND a.started_at < ? AND (a.finished_at IS NULL OR a.finished_at > ?) ${ownerFilter}
     ) t WHERE clipped_end > clipped_start GROUP BY k ORDER BY gpu_ms DESC, wall_ms DESC, k`,
    params,
  );
  return (rows as { k: string; attempts: number | string; wall_ms: number | string; gpu_ms: number | string }[]).map((r) => ({
    key: r.k, attempts: Number(r.attempts), wallMs: Number(r.wall_ms), gpuMs: Number(r.gpu_ms),
  }));
}
