// Transition PENDING → ASSIGNED for one named job: the least recently assigned agent that
// can run it now (slot, os, labels, GPUs) gets it, through the same fenced batch commit
// the matcher uses (commit_assignments.ts). An agent another scheduler holds right now is
// skipped for the next one that fits.
import type { Pool } from "./db.ts";
import { commitAssignments, type Assignment } from "./commit_assignments.ts";
import { freeAgents } from "./free_capacity.ts";
import { fitOn, needsOf, osAndLabelsFit } from "./job_fit.ts";
import type { JobRow, StoredSpec } from "./job_view.ts";

/** True when an agent's os and labels satisfy a job's requirements (GPUs aside). */
export function agentFits(spec: StoredSpec, agent: { os: string; labels: Record<string, string> }): boolean {
  return osAndLabelsFit(needsOf(spec.requirements), agent);
}

/**
 * Assigns one PENDING job to an eligible agent. Returns null when the job is not PENDING
 * (any more), is wanted canceled, or no agent fits right now.
 * `grantLease` runs inside the transaction; if it throws, nothing is committed.
 */
export async function assignJob(
  pool: Pool,
  args: { jobId: string; now: Date; grantLease: (a: { attemptId: string; agentId: string; jobId: string }) => Promise<void> },
): Promise<Assignment | null> {
  const [rows] = await pool.execute("SELECT * FROM jobs WHERE id = ? AND state = 'PENDING' AND cancel_requested_at IS NULL", [args.jobId]);
  const job = (rows as JobRow[])[0];
  if (!job) return null;
  const needs = needsOf((JSON.parse(job.spec) as StoredSpec).requirements);
  for (const agent of await freeAgents(pool)) {
    const gpus = fitOn(needs, agent);
    if (!gpus) continue;
    const [done] = await commitAssignments(pool, {
      matches: [{ jobId: job.id, owner: job.owner, agentId: agent.id, gpus }],
      now: args.now,
      grantLeases: async (grants) => {
        for (const g of grants) await args.grantLease(g);
      },
    });
    if (done) return done;
    // Not committed: the job was taken (stop), or this agent was busy or full (try the next).
    const [still] = await pool.execute("SELECT 1 FROM jobs WHERE id = ? AND state = 'PENDING' AND cancel_requested_at IS NULL", [job.id]);
    if ((still as unknown[]).length === 0) return null;
  }
  return null;
}

/** Ids of PENDING jobs, oldest first. */
export async function pendingJobIds(pool: Pool, limit: number): Promise<{ id: string; cancelRequested: boolean }[]> {
  const [rows] = await pool.query(
    `SELECT id, cancel_requested_at FROM jobs WHERE state = 'PENDING' ORDER BY created_at, id LIMIT ${Number(limit)}`,
  );
  return (rows as { id: string; cancel_requested_at: Date | null }[]).map((r) => ({ id: r.id, cancelRequested: r.cancel_requested_at !== null }));
}
