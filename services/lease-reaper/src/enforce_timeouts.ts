// The server's side of `timeout_seconds`: the agent kills a job that runs past it and
// reports FAILED (timeout). If that report never comes while the agent keeps its lease
// alive (a wedged agent, a report lost with its outbox), the server ends the attempt
// itself once timeout plus one lease TTL has passed: FAILED with cause `timeout`, the
// lease released, and the agent told to kill the tree. Fenced like any report.
import { finishAttempt, overdueAttempts } from "@labbridge/store";
import { publishTransition, tellAgent, type ServiceContext } from "@labbridge/runtime";

/** Ends up to `batch` overdue attempts; returns true when there may be more. */
export async function enforceTimeouts(ctx: ServiceContext, batch = 50): Promise<boolean> {
  const now = ctx.clock();
  const overdue = await overdueAttempts(ctx.pool, new Date(now), ctx.config.leaseTtlSeconds, batch);
  for (const att of overdue) {
    const t = await finishAttempt(ctx.pool, {
      jobId: att.jobId, attemptId: att.id, agentId: att.agentId, now: new Date(now),
      result: {
        outcome: "failed", exitCode: null, outputs: [],
        error: { code: "timeout", message: `Ended by the server: ran past its ${att.timeoutSeconds} s timeout and the agent did not report` },
      },
    });
    if (!t) continue;
    await ctx.leases.release(att.id);
    await publishTransition(ctx, t);
    await tellAgent(ctx, att.agentId, { type: "attempt.abort", jobId: att.jobId, attemptId: att.id, reason: "timeout" });
  }
  return overdue.length === batch;
}
