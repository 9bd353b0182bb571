// GET /v1/jobs/{id}/logs: presigned GETs of each attempt's full stdout and stderr as the agent
// uploaded them (jobs/<job>/<attempt>/logs/<stream>.log), latest attempt first. The agent
// reports no log sizes, so each is read with a HEAD (docs/decisions/0020); a log the store
// does not hold (an attempt that never ran, or whose upload failed) is left out.
import { logKey } from "@labbridge/protocol";
import type { Principal } from "@labbridge/store";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { objectSize } from "../object_size.ts";
import type { Route } from "../router.ts";
import { visibleJob } from "./jobs.ts";

const STREAMS = ["stdout", "stderr"] as const;

async function logs(ctx: ApiContext, _req: Request, [id]: string[], who: Principal): Promise<Response> {
  const job = await visibleJob(ctx, id!, who);
  const wanted = [...job.attempts].sort((a, b) => b.number - a.number)
    .flatMap((a) => STREAMS.map((stream) => ({ attempt_id: a.id, stream, key: logKey(job.id, a.id, stream) })));
  const sizes = await Promise.all(wanted.map((w) => objectSize(ctx.storage, w.key)));
  const items = wanted.flatMap((w, i) => {
    const size = sizes[i];
    if (size === null || size === undefined) return [];
    const signed = ctx.storage.presignGet(w.key, ctx.config.presignSeconds);
    return [{ ...w, size, url: signed.url, expires_at: signed.expiresAt }];
  });
  return { status: 200, body: { items } };
}

/** The job logs route. */
export const jobLogRoutes: Route[] = [
  { method: "GET", path: "/v1/jobs/{id}/logs", auth: true, handle: logs },
];
