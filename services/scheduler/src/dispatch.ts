// Dispatch: PENDING → ASSIGNED for one job, or for as many PENDING jobs as agents can take.
// The assignment is committed (with its lease) before the gateway is told, so a crash in
// between leaves an ASSIGNED attempt whose lease expires and is handed back.
import { assignJob, pendingJobIds, staleCancelJobIds, type Assignment, type PendingAssignment } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { publishTransition, type ServiceContext } from "@labbridge/runtime";
import { applyCancel } from "./cancel.ts";
import { observeAssigned } from "./scheduler_metrics.ts";

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
  observeAssigned(ctx, assignment.jobId);
  await publishTransition(ctx, assignment.transition);
  await sendAssignment(ctx, assignment.gatewayId, assignment);
  return assignment;
}

/** Puts an assignment on a gateway's command stream (the agent ignores one it already holds). */
export async function sendAssignment(ctx: ServiceContext, gatewayId: string, a: PendingAssignment): Promise<void> {
  await appendEntry(ctx.redis, ctx.streams.gateway(gatewayId), {
    type: "attempt.assign",
    job_id: a.jobId,
    attempt_id: a.attemptId,
    agent_id: a.agentId,
    data: { command: a.spec.command, env: a.spec.env, inputs: a.spec.inputs, timeout_seconds: a.timeoutSeconds },
  });
}

/** Walks PENDING jobs oldest first, assigning while agents take them; returns how many were assigned. */
export async function dispatchPending(ctx: ServiceContext, batch = 100): Promise<number> {
  const jobs = await pendingJobIds(ctx.pool, batch);
  let assigned = 0;
  let misses = 0;
  for (const job of jobs) {
    if (job.cancelRequested) {
      await applyCancel(ctx, job.id);
      continue;
    }
    if (await dispatchJob(ctx, job.id)) assigned++;
    // A few misses in a row: no agent fits the rest right now; the next wake-up retries.
    else if (++misses >= 10) break;
  }
  return assigned;
}

/** How long a cancel may take effect before the sweep sends it again. */
const CANCEL_RESEND_MS = 30_000;

/** Re-applies cancels that have not taken effect, so a lost stream entry or command loses no cancel. */
export async function resendStaleCancels(ctx: ServiceContext, batch = 50): Promise<void> {
  for (const jobId of await staleCancelJobIds(ctx.pool, new Date(ctx.clock() - CANCEL_RESEND_MS), batch)) {
    await applyCancel(ctx, jobId);
  }
}
