// One pass of the lease reaper over expired attempt leases (DESIGN.md "Lease"): claim the
// dead lease atomically (after which no start or renewal can succeed, so its started flag
// is final), decide in MySQL (fenced, so several reapers racing apply it once), tell the
// scheduler and the agent, then remove the lease. A crash at any point leaves the claimed
// lease in place, and the next pass finishes the job.
import { expireAttempt } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { publishTransition, tellAgent, type ServiceContext } from "@labbridge/runtime";

/** Reaps up to `batch` expired leases; returns true when there may be more. */
export async function reapExpiredLeases(ctx: ServiceContext, batch = 100): Promise<boolean> {
  const now = ctx.clock();
  const candidates = await ctx.leases.expired(now, batch);
  for (const candidate of candidates) {
    const lease = await ctx.leases.claimExpired(candidate.attemptId, now);
    if (!lease) continue; // renewed between the listing and the claim
    const t = await expireAttempt(ctx.pool, {
      jobId: lease.jobId, attemptId: lease.attemptId, leaseStarted: lease.started, now: new Date(now),
    });
    if (t) {
      await publishTransition(ctx, t);
      await appendEntry(ctx.redis, ctx.streams.agentEvents, {
        type: "attempt.expired", job_id: lease.jobId, attempt_id: lease.attemptId, agent_id: lease.agentId,
        data: { started: lease.started, job_state: t.to },
      });
      if (t.to === "PENDING") {
        await appendEntry(ctx.redis, ctx.streams.jobs, { type: "job.requeued", job_id: lease.jobId, data: { after_attempt: lease.attemptId } });
      }
      // If the agent is still connected somewhere, it must stop: the server has decided.
      await tellAgent(ctx, lease.agentId, { type: "attempt.abort", jobId: lease.jobId, attemptId: lease.attemptId, reason: "lease_lost" });
    }
    await ctx.leases.release(lease.attemptId);
  }
  return candidates.length === batch;
}
