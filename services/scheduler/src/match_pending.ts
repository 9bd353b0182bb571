// One matching pass (DESIGN.md "Matching"): free capacity is matched to PENDING jobs in
// fair-share order (docs/decisions/0015-fair-share.md) and committed in batches. Only kinds
// of job some free agent can run are read, so unrunnable jobs never block runnable ones.
// Rounds repeat while they assign something, so capacity the plan left (a batch lost to
// another scheduler's locks, more jobs than one read) is used before the pass ends.
import {
  commitAssignments, fitOn, hasMysqlErrno, MYSQL_ERRNO, freeAgents, ownersLastAssigned, pendingCandidates, pendingClasses, planMatches,
  type LeaseGrant,
} from "@labbridge/store";
import type { ServiceContext } from "@labbridge/runtime";
import { announceAssignments } from "./announce_assignments.ts";

/** Assignments committed per transaction: few round trips, short lock holds. */
const COMMIT_BATCH = 250;
/** Most jobs of one owner read per round (a round gives no owner more than the free slots). */
const MAX_PER_OWNER = 2000;
const MAX_ROUNDS = 20;

/** Runs one matching pass; returns how many jobs it assigned. */
export async function matchPending(ctx: ServiceContext): Promise<number> {
  let total = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const assigned = await matchRound(ctx);
    total += assigned;
    if (assigned === 0) break;
  }
  return total;
}

async function matchRound(ctx: ServiceContext): Promise<number> {
  // The kinds of PENDING job first: one small grouped read. With nothing PENDING (the usual
  // case while a fleet reconnects) the pass ends there, instead of reading every ONLINE
  // agent's capacity and active attempts once per presence batch (about half of the
  // scheduler's MySQL time in a 20,000-agent cold start, measure_presence.ts).
  const classes = await pendingClasses(ctx.pool);
  if (classes.length === 0) return 0;
  const agents = await freeAgents(ctx.pool);
  if (agents.length === 0) return 0;
  const runnable = classes.filter((c) => agents.some((a) => fitOn(c.needs, a)));
  if (runnable.length === 0) return 0;
  const freeSlots = agents.reduce((n, a) => n + a.freeSlots, 0);
  const candidates = await pendingCandidates(ctx.pool, runnable.map((c) => c.reqClass), Math.min(freeSlots, MAX_PER_OWNER));
  if (candidates.length === 0) return 0;
  const lastUse = await ownersLastAssigned(ctx.pool, [...new Set(candidates.map((c) => c.owner))]);
  const now = ctx.clock();
  const plan = planMatches({ agents, candidates, needs: new Map(runnable.map((c) => [c.reqClass, c.needs])), lastUse, now });
  let assigned = 0;
  for (let i = 0; i < plan.length; i += COMMIT_BATCH) {
    const done = await commitAssignments(ctx.pool, {
      matches: plan.slice(i, i + COMMIT_BATCH),
      now: new Date(now),
      grantLeases: (grants) => grantLeases(ctx, grants, now),
    }).catch((err) => {
      // A batch that lost a lock race to another scheduler is rolled back whole; its jobs are still PENDING.
      if (!hasMysqlErrno(err, MYSQL_ERRNO.deadlock)) throw err;
      ctx.log.info({ jobs: Math.min(COMMIT_BATCH, plan.length - i) }, "assignment batch rolled back after a deadlock");
      return [];
    });
    await announceAssignments(ctx, done);
    assigned += done.length;
  }
  return assigned;
}

/** Grants the leases of a batch: sent together on the one connection, so one round trip for all. */
export async function grantLeases(ctx: ServiceContext, grants: LeaseGrant[], now: number): Promise<void> {
  const expiresAt = now + ctx.config.leaseTtlSeconds * 1000;
  await Promise.all(grants.map((g) => ctx.leases.grant(g.attemptId, g.agentId, g.jobId, expiresAt)));
}
