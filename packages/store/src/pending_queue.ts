// Reads of the PENDING queue for matching. Kinds of job first (one index-only GROUP BY on
// (state, req_class)), then only jobs of the kinds some free agent can run, each owner's
// in its own order (priority, then age, then id): a job no free agent can run is never
// read, so however many of them wait, they cost the matcher nothing.
import type { Pool } from "./db.ts";
import { needsOf, type Needs } from "./job_fit.ts";

/** One kind of PENDING job: the jobs with the same requirements. */
export interface PendingClass {
  reqClass: string;
  needs: Needs;
  count: number;
}

/** A PENDING job as the matcher needs it. */
export interface PendingCandidate {
  id: string;
  owner: string;
  reqClass: string;
  priority: number;
  createdAt: number;
}

/** The kinds of PENDING job (not wanted canceled), with their requirements and how many wait. */
export async function pendingClasses(pool: Pool): Promise<PendingClass[]> {
  const [rows] = await pool.query(
    `SELECT c.req_class, c.n, JSON_EXTRACT(j.spec, '$.requirements') AS requirements
     FROM (SELECT req_class, MIN(id) AS id, COUNT(*) AS n FROM jobs WHERE state = 'PENDING' GROUP BY req_class) c
     JOIN jobs j ON j.id = c.id`,
  );
  return (rows as { req_class: string; n: number; requirements: unknown }[]).map((r) => ({
    reqClass: r.req_class,
    // The driver hands JSON_EXTRACT's result over parsed or as text, depending on the server.
    needs: needsOf(typeof r.requirements === "string" ? JSON.parse(r.requirements) : r.requirements),
    count: Number(r.n),
  }));
}

/**
 * Up to `perOwner` PENDING jobs of each owner among the given kinds, each owner's in its
 * own order (priority descending, then created_at, then id). No owner can be given more
 * than the free slots in one pass, so that is the most worth reading.
 */
export async function pendingCandidates(pool: Pool, reqClasses: string[], perOwner: number): Promise<PendingCandidate[]> {
  if (reqClasses.length === 0 || perOwner <= 0) return [];
  const [rows] = await pool.query(
    `SELECT id, owner, req_class, priority, created_at FROM (
       SELECT id, owner, req_class, priority, created_at,
              ROW_NUMBER() OVER (PARTITION BY owner ORDER BY priority DESC, created_at, id) AS rn
       FROM jobs WHERE state = 'PENDING' AND cancel_requested_at IS NULL AND req_class IN (?)) t
     WHERE rn <= ${Number(perOwner)} ORDER BY owner, rn`,
    [reqClasses],
  );
  return (rows as { id: string; owner: string; req_class: string; priority: number; created_at: Date }[]).map((r) => ({
    id: r.id, owner: r.owner, reqClass: r.req_class, priority: r.priority, createdAt: r.created_at.getTime(),
  }));
}

/** When each of these owners was last given an assignment (owners never assigned are absent). */
export async function ownersLastAssigned(pool: Pool, owners: string[]): Promise<Map<string, number>> {
  if (owners.length === 0) return new Map();
  const [rows] = await pool.query("SELECT owner, last_assigned_at FROM owner_usage WHERE owner IN (?)", [owners]);
  return new Map((rows as { owner: string; last_assigned_at: Date }[]).map((r) => [r.owner, r.last_assigned_at.getTime()]));
}

/** PENDING jobs wanted canceled (the sweep cancels them). */
export async function pendingCancelIds(pool: Pool, limit: number): Promise<string[]> {
  const [rows] = await pool.query(
    `SELECT id FROM jobs WHERE state = 'PENDING' AND cancel_requested_at IS NOT NULL ORDER BY created_at LIMIT ${Number(limit)}`,
  );
  return (rows as { id: string }[]).map((r) => r.id);
}
