// The `queue` of PENDING jobs (API.md "Jobs"): their place under fair share and why they
// wait. Cheap enough for every GET and list: a few set-based queries per request (agents
// once, positions for the whole page at once), never queries per job.
//
// Fair share (docs/decisions/0015): between owners, the owner whose latest assignment is
// oldest goes first (never assigned = oldest); within one owner, priority descending, then
// created_at, then id. Each assignment makes its owner the most recent, so the scheduler
// takes one job per owner in turn, owners in that order.
import type { JobRequirements } from "@labbridge/protocol";
import type { Pool } from "./db.ts";
import type { JobView } from "./job_view.ts";
import { queueReason, type AgentCapacity } from "./queue_reason.ts";
import { NOT_PAUSED_SQL } from "./agent_pause_repo.ts";

interface AgentRowLite {
  id: string;
  os: string;
  labels: string;
  gpus: string;
  slots: number;
  status: string;
  paused: number;
  gateway_id: string | null;
}

/** Every enrolled, non-revoked agent with what it holds now: two queries. */
export async function loadAgentCapacity(pool: Pool): Promise<AgentCapacity[]> {
  const [[agents], [usage], held] = await Promise.all([
    pool.query(`SELECT id, os, labels, gpus, slots, status, NOT (${NOT_PAUSED_SQL}) AS paused, gateway_id FROM agents WHERE revoked_at IS NULL`),
    // From the jobs in hand (an index range on jobs.state), not a scan of all attempts ever made.
    pool.query(
      `SELECT a.agent_id, COUNT(*) AS running
       FROM jobs j JOIN attempts a ON a.id = j.current_attempt_id
       WHERE j.state IN ('ASSIGNED','RUNNING') AND a.state IN ('ASSIGNED','RUNNING')
       GROUP BY a.agent_id`,
    ),
    heldGpuIndexes(pool),
  ]);
  const using = new Map((usage as { agent_id: string; running: number }[]).map((u) => [u.agent_id, u]));
  return (agents as AgentRowLite[]).map((a) => ({
    id: a.id,
    os: a.os,
    labels: parseJson<Record<string, string>>(a.labels, {}),
    gpus: parseJson<AgentCapacity["gpus"]>(a.gpus, []).filter((g) => g && typeof g.name === "string"),
    slots: a.slots,
    running: Number(using.get(a.id)?.running ?? 0),
    gpusHeld: held.get(a.id)?.length ?? 0,
    heldGpuIndexes: held.get(a.id) ?? [],
    online: a.status === "ONLINE" && a.gateway_id !== null,
    paused: Number(a.paused) === 1,
  }));
}

// attempts.gpus ([{index, uuid?}]) names the GPUs each active attempt holds.
async function heldGpuIndexes(pool: Pool): Promise<Map<string, number[]>> {
  const [rows] = await pool.query(
    `SELECT a.agent_id, a.gpus FROM jobs j JOIN attempts a ON a.id = j.current_attempt_id
     WHERE j.state IN ('ASSIGNED','RUNNING') AND a.state IN ('ASSIGNED','RUNNING') AND a.gpus <> '[]'`,
  );
  const byAgent = new Map<string, number[]>();
  for (const r of rows as { agent_id: string; gpus: string }[]) {
    const list = byAgent.get(r.agent_id) ?? [];
    for (const g of parseJson<{ index?: unknown }[]>(r.gpus, [])) if (typeof g?.index === "number") list.push(g.index);
    byAgent.set(r.agent_id, list);
  }
  return byAgent;
}

function parseJson<T>(text: string, fallback: T): T {
  try {
    return (JSON.parse(text) as T) ?? fallback;
  } catch {
    return fallback;
  }
}

/** One owner's share of the queue. */
interface OwnerQueue {
  owner: string;
  pending: number;
  lastAssignedAt: Date | null;
}

/** Owners with PENDING jobs: how many each has, and when each last had a job assigned. One query. */
export async function ownerQueues(pool: Pool): Promise<OwnerQueue[]> {
  // owner_usage is what the scheduler's fair share reads too (migration 005, decision 0015).
  const [rows] = await pool.query(
    `SELECT p.owner, p.n, (SELECT u.last_assigned_at FROM owner_usage u WHERE u.owner = p.owner) AS last_assigned_at
     FROM (SELECT owner, COUNT(*) AS n FROM jobs WHERE state = 'PENDING' GROUP BY owner) p`,
  );
  return (rows as { owner: string; n: number; last_assigned_at: Date | null }[])
    .map((r) => ({ owner: r.owner, pending: Number(r.n), lastAssignedAt: r.last_assigned_at }));
}

/** Owners in the order fair share serves them: least recent assignment first, never assigned before all. */
export function fairShareOwnerOrder(owners: OwnerQueue[]): string[] {
  const at = (o: OwnerQueue) => (o.lastAssignedAt ? o.lastAssignedAt.getTime() : -Infinity);
  return [...owners].sort((a, b) => at(a) - at(b) || (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0)).map((o) => o.owner);
}

/**
 * A job's position (1 = next) from its rank among its owner's PENDING jobs (0 = its
 * owner's first): the scheduler serves one job per owner per round, so before it come its
 * own `rank` jobs and, of every other owner, as many as that owner has in the rounds
 * before this one's (one more for owners served ahead of this one in a round).
 */
export function fairSharePosition(owner: string, rank: number, order: string[], pendingOf: Map<string, number>): number {
  const ownIndex = order.indexOf(owner);
  let ahead = rank;
  order.forEach((other, i) => {
    if (other === owner) return;
    const rounds = rank + (ownIndex < 0 || i < ownIndex ? 1 : 0);
    ahead += Math.min(pendingOf.get(other) ?? 0, rounds);
  });
  return ahead + 1;
}

/** Each job's rank among its owner's PENDING jobs (0 = first), for the given PENDING jobs: one query. */
async function ranksWithinOwner(pool: Pool, jobs: { id: string; owner: string }[]): Promise<Map<string, number>> {
  const owners = [...new Set(jobs.map((j) => j.owner))];
  const [rows] = await pool.query(
    `SELECT id, rn FROM (
       SELECT id, ROW_NUMBER() OVER (PARTITION BY owner ORDER BY priority DESC, created_at, id) - 1 AS rn
       FROM jobs WHERE state = 'PENDING' AND owner IN (?)
     ) r WHERE id IN (?)`,
    [owners, jobs.map((j) => j.id)],
  );
  return new Map((rows as { id: string; rn: number }[]).map((r) => [r.id, Number(r.rn)]));
}

/** Sets `queue` on every PENDING view (in place); the others keep null. */
export async function attachQueue(pool: Pool, views: JobView[]): Promise<void> {
  const pending = views.filter((v) => v.state === "PENDING");
  if (pending.length === 0) return;
  const [agents, owners, ranks] = await Promise.all([loadAgentCapacity(pool), ownerQueues(pool), ranksWithinOwner(pool, pending)]);
  const order = fairShareOwnerOrder(owners);
  const pendingOf = new Map(owners.map((o) => [o.owner, o.pending]));
  for (const view of pending) {
    const rank = ranks.get(view.id);
    // Not PENDING any more by the time of the rank query: the view is already out of date.
    if (rank === undefined) continue;
    const position = fairSharePosition(view.owner, rank, order, pendingOf);
    view.queue = { position, ...queueReason(view.requirements, agents, position - 1) };
  }
}

/** Counts of PENDING jobs by queue reason (for /metrics): jobs grouped by requirements, one reason per group. */
export async function pendingByReason(pool: Pool): Promise<Map<string, number>> {
  const [[groups], agents] = await Promise.all([
    pool.query("SELECT JSON_EXTRACT(spec, '$.requirements') AS req, COUNT(*) AS n FROM jobs WHERE state = 'PENDING' GROUP BY req"),
    loadAgentCapacity(pool),
  ]);
  const counts = new Map<string, number>();
  for (const g of groups as { req: string | JobRequirements | null; n: number }[]) {
    // mysql2 hands JSON-typed results over parsed already; a text result is parsed here.
    const req = typeof g.req === "string" ? parseJson<JobRequirements>(g.req, {}) : (g.req ?? {});
    // Position does not change the reason, only the message: any value serves here.
    const { reason } = queueReason(req, agents, 0);
    counts.set(reason, (counts.get(reason) ?? 0) + Number(g.n));
  }
  return counts;
}
