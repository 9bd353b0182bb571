// After a batch of assignments commits: one info line per transition, and every
// attempt.assign command and job-events entry of the batch in one Redis pipeline (one
// round trip, not two per job). MySQL already holds the assignments: a lost command is
// sent again on the agent's next hello, or its lease runs out and the job is handed back.
import { encodeEntry } from "@labbridge/protocol";
import type { Assignment, PendingAssignment } from "@labbridge/store";
import { STREAM_MAXLEN } from "@labbridge/streams";
import type { ServiceContext } from "@labbridge/runtime";
import { observeAssigned } from "./scheduler_metrics.ts";

/** The `attempt.assign` command entry for an assignment (the gateway turns it into the frame). */
export function assignEntry(a: PendingAssignment) {
  return {
    type: "attempt.assign",
    job_id: a.jobId,
    attempt_id: a.attemptId,
    agent_id: a.agentId,
    data: { command: a.spec.command, env: a.spec.env, inputs: a.spec.inputs, timeout_seconds: a.timeoutSeconds, gpus: a.gpus ?? [] },
  };
}

/** Logs and publishes committed assignments and sends each to its agent's gateway. */
export async function announceAssignments(ctx: ServiceContext, done: Assignment[]): Promise<void> {
  if (done.length === 0) return;
  const pipe = ctx.redis.pipeline();
  for (const a of done) {
    observeAssigned(ctx, a.jobId);
    const t = a.transition;
    ctx.log.info(
      { job_id: t.job_id, attempt_id: t.attempt_id, agent_id: t.agent_id, from: t.from, to: t.to, cause: t.cause, gpus: a.gpus.map((g) => g.index) },
      `job ${t.from} -> ${t.to}`,
    );
    pipe.xadd(ctx.streams.jobEvents, "MAXLEN", "~", STREAM_MAXLEN, "*", ...encodeEntry({
      type: "job.state_changed", job_id: t.job_id, attempt_id: a.attemptId, agent_id: a.agentId, ts: t.at.toISOString(),
      data: { from: t.from, to: t.to, cause: t.cause },
    }));
    pipe.xadd(ctx.streams.gateway(a.gatewayId), "MAXLEN", "~", STREAM_MAXLEN, "*", ...encodeEntry(assignEntry(a)));
  }
  const results = (await pipe.exec()) ?? [];
  const failed = results.filter(([err]) => err).length;
  if (failed > 0) ctx.log.warn({ failed, of: results.length }, "some assignment entries were not appended");
}
