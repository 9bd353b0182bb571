// Cancel handling: CANCELED at once where nothing runs; otherwise the agent holding the
// attempt is told to kill its process tree, and its report ends the job.
import { cancelJob } from "@labbridge/store";
import { publishTransition, tellAgent, type ServiceContext } from "@labbridge/runtime";

/** Applies a cancel request to a job (idempotent). */
export async function applyCancel(ctx: ServiceContext, jobId: string): Promise<void> {
  const outcome = await cancelJob(ctx.pool, {
    jobId,
    now: new Date(ctx.clock()),
    revokeUnstartedLease: (attemptId) => ctx.leases.revokeUnstarted(attemptId),
  });
  if (outcome.kind === "canceled") {
    await publishTransition(ctx, outcome.transition);
    if (outcome.attempt) {
      await tellAgent(ctx, outcome.attempt.agentId, { type: "attempt.cancel", jobId, attemptId: outcome.attempt.id, reason: "canceled" });
    }
  } else if (outcome.kind === "signal_agent") {
    const told = await tellAgent(ctx, outcome.agentId, { type: "attempt.cancel", jobId, attemptId: outcome.attemptId, reason: "canceled" });
    ctx.log.info({ job_id: jobId, attempt_id: outcome.attemptId, agent_id: outcome.agentId, told }, "cancel sent to agent");
  }
}
