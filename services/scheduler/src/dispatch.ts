// Dispatch: PENDING → ASSIGNED for one named job, or for as many PENDING jobs as free
// capacity takes (a coalesced matching pass, matcher.ts). Assignments are committed (with
// their leases) before the gateway is told, so a crash in between leaves ASSIGNED attempts
// whose leases expire and are handed back.
import { assignJob, pendingCancelIds, staleCancelJobIds, type Assignment, type PendingAssignment } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import type { ServiceContext } from "@labbridge/runtime";
import { announceAssignments, assignEntry } from "./announce_assignments.ts";
import { applyCancel } from "./cancel.ts";
import { matcherFor } from "./matcher.ts";

/** Tries to assign one job; returns the assignment, or null (not PENDING, or no agent fits now). */
export async function dispatchJob(ctx: ServiceContext, jobId: string): Promise<Assignment | null> {
  const now = ctx.clock();
  const assignment = await assignJob(ctx.pool, {
    jobId,
    now: new Date(now),
    grantLease: async ({ attemptId, agentId }) => {
      await ctx.leases.grant(attemptId, agentId, jobId, now + ctx.config.leaseTtlSeconds * 1000);
    },
  });
  if (!assignment) return null;
  await announceAssignments(ctx, [assignment]);
  return assignment;
}

/** Puts an assignment on a gateway's command stream (the agent ignores one it already holds). */
export async function sendAssignment(ctx: ServiceContext, gatewayId: string, a: PendingAssignment): Promise<void> {
  await appendEntry(ctx.redis, ctx.streams.gateway(gatewayId), assignEntry(a));
}

/**
 * Cancels PENDING jobs wanted canceled, then matches free capacity to PENDING jobs (a pass
 * that starts after this call); returns how many jobs that pass assigned.
 */
export async function dispatchPending(ctx: ServiceContext, cancelBatch = 100): Promise<number> {
  for (const jobId of await pendingCancelIds(ctx.pool, cancelBatch)) await applyCancel(ctx, jobId);
  return matcherFor(ctx).run();
}

/** Wakes the matcher without waiting for it (a submission: the PENDING sweep covers a lost wake-up). */
export function wakeMatcher(ctx: ServiceContext): void {
  matcherFor(ctx).poke();
}

/** How long a cancel may take effect before the sweep sends it again. */
const CANCEL_RESEND_MS = 30_000;

/** Re-applies cancels that have not taken effect, so a lost stream entry or command loses no cancel. */
export async function resendStaleCancels(ctx: ServiceContext, batch = 50): Promise<void> {
  for (const jobId of await staleCancelJobIds(ctx.pool, new Date(ctx.clock() - CANCEL_RESEND_MS), batch)) {
    await applyCancel(ctx, jobId);
  }
}
