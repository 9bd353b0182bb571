// One pass of the lease reaper over expired attempt leases (DESIGN.md "Lease"): decide in
// MySQL first (fenced, so several reapers racing apply it once), then tell the scheduler
// and the agent, then remove the lease. A crash at any point leaves the lease in place,
// and the next pass finishes the job.
import { expireAttempt } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { publishTransition, type ServiceContext } from "@labbridge/runtime";

/** Reaps up to `batch` expired leases; returns true when there may be more. */
export async function reapExpiredLeases(ctx: ServiceContext, batch = 100): Promise<boolean> {
  const now = ctx.clock();
  const expired = await ctx.leases.expired(now, batch);
  for (const lease of expired) {
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
      const session = await ctx.presence.session(lease.agentId);
      if (session) {
        await appendEntry(ctx.redis, ctx.streams.gateway(session.gatewayId), {
          type: "attempt.abort", job_id: lease.jobId, attempt_id: lease.attemptId, agent_id: lease.agentId, data: { reason: "lease_lost" },
        });
      }
    }
    await ctx.leases.release(lease.attemptId);
  }
  return expired.length === batch;
}
