// After a transition commits: one info line for people, and one job-events entry for
// watchers. MySQL already holds the change, so a failed publish is logged, not retried.
import type { Transition } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import type { ServiceContext } from "./context.ts";

/** Logs a committed job transition and appends it to the job-events stream. */
export async function publishTransition(ctx: ServiceContext, t: Transition): Promise<void> {
  ctx.log.info(
    { job_id: t.job_id, attempt_id: t.attempt_id, agent_id: t.agent_id, from: t.from, to: t.to, cause: t.cause },
    `job ${t.from} -> ${t.to}`,
  );
  await appendEntry(ctx.redis, ctx.streams.jobEvents, {
    type: "job.state_changed",
    job_id: t.job_id,
    ...(t.attempt_id ? { attempt_id: t.attempt_id } : {}),
    ...(t.agent_id ? { agent_id: t.agent_id } : {}),
    ts: t.at.toISOString(),
    data: { from: t.from, to: t.to, cause: t.cause },
  }).catch((err) => ctx.log.warn({ job_id: t.job_id, err: (err as Error).message }, "job event not published"));
}
