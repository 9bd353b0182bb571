// Consumer of `<prefix>:jobs`: submissions and requeues wake the matcher (without waiting
// for it, so a burst of submissions is matched in a few batched passes); cancel requests
// are applied. Every handler reads the truth from MySQL, so re-delivery is harmless, and
// the PENDING sweep matches a job whose wake-up was lost.
import type { StreamEntry } from "@labbridge/protocol";
import type { ServiceContext } from "@labbridge/runtime";
import { applyCancel } from "./cancel.ts";
import { wakeMatcher } from "./dispatch.ts";

/** Handles one entry of the jobs stream. */
export async function handleJobCommand(ctx: ServiceContext, entry: StreamEntry): Promise<void> {
  if (!entry.job_id) return;
  switch (entry.type) {
    case "job.submitted":
    case "job.requeued":
      wakeMatcher(ctx);
      return;
    case "job.cancel_requested":
      await applyCancel(ctx, entry.job_id);
      return;
    default:
      ctx.log.warn({ type: entry.type, job_id: entry.job_id }, "ignoring unknown jobs entry");
  }
}
