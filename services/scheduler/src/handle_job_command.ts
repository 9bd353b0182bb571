// Consumer of `<prefix>:jobs`: submissions and requeues are wake-ups to dispatch; cancel
// requests are applied. Every handler reads the truth from MySQL, so re-delivery is harmless.
import type { StreamEntry } from "@labbridge/protocol";
import type { ServiceContext } from "@labbridge/runtime";
import { applyCancel } from "./cancel.ts";
import { dispatchJob } from "./dispatch.ts";

/** Handles one entry of the jobs stream. */
export async function handleJobCommand(ctx: ServiceContext, entry: StreamEntry): Promise<void> {
  if (!entry.job_id) return;
  switch (entry.type) {
    case "job.submitted":
    case "job.requeued":
      await dispatchJob(ctx, entry.job_id);
      return;
    case "job.cancel_requested":
      await applyCancel(ctx, entry.job_id);
      return;
    default:
      ctx.log.warn({ type: entry.type, job_id: entry.job_id }, "ignoring unknown jobs entry");
  }
}
