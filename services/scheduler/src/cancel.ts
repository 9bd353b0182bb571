// Cancel handling: CANCELED at once where nothing runs; otherwise the agent holding the
// attempt is told to kill its process tree, and its report ends the job.
import { cancelJob } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { publishTransition, type ServiceContext } from "@labbridge/runtime";

/** Sends a stop command to whichever gateway holds the agent now; false when the agent is not connected. */
export async function tellAgent(
  ctx: ServiceContext,
  agentId: string,
  command: { type: "attempt.cancel" | "attempt.abort"; jobId: string; attemptId: string; reason: string },
): Promise<boolean> {
  const session = await ctx.presence.session(agentId);
  if (!session) return false;
  await appendEntry(ctx.redis, ctx.streams.gateway(session.gatewayId), {
    type: command.type,
    job_id: command.jobId,
    attempt_id: command.attemptId,
    agent_id: agentId,
    data: { reason: command.reason },
  });
  return true;
}

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
