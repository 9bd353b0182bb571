// GET /v1/jobs/{id}/events: Server-Sent Events for one job. First a `job` event with the
// job as it is now, then a `state` event per state change, a `progress` event per
// progress line and a `log` event per live log line (stdout and stderr), as they happen;
// the stream ends after the job reaches a final state.
import { isTerminalJobState, type JobLogData, type JobState, type LogStream, type StreamEntry } from "@labbridge/protocol";
import { getJob, type Principal } from "@labbridge/store";
import type { EventStream, Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { ApiError } from "../api_error.ts";
import type { Route } from "../router.ts";
import { visibleJob } from "./jobs.ts";

const KEEPALIVE_MS = 15_000;

function sse(event: string, data: unknown, id?: string): string {
  return `event: ${event}\n${id ? `id: ${id}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
}

async function relay(ctx: ApiContext, jobId: string, out: EventStream): Promise<void> {
  const buffered: [StreamEntry, string][] = [];
  let live = false;
  const emit = (entry: StreamEntry, id: string) => {
    if (entry.type === "job.progress") {
      out.send(sse("progress", { job_id: jobId, attempt_id: entry.attempt_id ?? null, message: entry.data.message, at: entry.ts }, id));
    } else if (entry.type === "job.log") {
      const data = entry.data as JobLogData;
      const lines = (["stdout", "stderr"] as const satisfies readonly LogStream[]).flatMap((stream) => (data[stream] ?? []).map((line) => ({ stream, line })));
      // One write per entry; its id goes on the last event, so a client resuming from it has seen every line.
      if (lines.length > 0) out.send(lines.map((l, i) => sse("log", { job_id: jobId, attempt_id: entry.attempt_id ?? null, ...l, at: entry.ts }, i === lines.length - 1 ? id : undefined)).join(""));
    } else if (entry.type === "job.state_changed") {
      out.send(sse("state", { job_id: jobId, attempt_id: entry.attempt_id ?? null, agent_id: entry.agent_id ?? null, ...entry.data, at: entry.ts }, id));
      if (isTerminalJobState(entry.data.to as JobState)) out.end();
    }
  };
  // Subscribe before reading the snapshot, so nothing between the two is lost; a state
  // already in the snapshot may come again as an event, which a client can ignore.
  const unsubscribe = await ctx.jobEvents.subscribe(jobId, (entry, id) => (live ? emit(entry, id) : buffered.push([entry, id])));
  const keepalive = setInterval(() => out.send(": keepalive\n\n"), KEEPALIVE_MS);
  out.onClose(() => {
    unsubscribe();
    clearInterval(keepalive);
  });
  await getJob(ctx.pool, jobId).then(
    (job) => {
      out.send(sse("job", job));
      if (!job || isTerminalJobState(job.state)) return out.end();
      live = true;
      for (const [entry, id] of buffered.splice(0)) emit(entry, id);
    },
    (err) => {
      ctx.log.warn({ job_id: jobId, err: (err as Error).message }, "job events snapshot failed");
      out.end();
    },
  );
}

// Each open stream holds a subscription and buffers for as long as the client keeps it, so
// a user holds at most ctx.config.apiEventStreamsPerUser of them on one API instance; the
// slot is freed when the stream closes, whoever closes it (http.ts calls `stream` always).
async function events(ctx: ApiContext, _req: Request, [id]: string[], who: Principal): Promise<Response> {
  const job = await visibleJob(ctx, id!, who);
  const release = ctx.eventStreams.acquire(who.owner);
  if (!release) {
    const cap = ctx.eventStreams.cap;
    throw new ApiError("rate_limited", `Too many open event streams for "${who.owner}": at most ${cap} at once; close one first`, { open_streams: cap, max_streams: cap }, { "retry-after": "5" });
  }
  return { status: 200, headers: { "x-accel-buffering": "no" }, stream: (out) => {
    out.onClose(release);
    void relay(ctx, job.id, out).catch((err) => {
      ctx.log.warn({ job_id: job.id, err: (err as Error).message }, "job events stream failed");
      out.end();
    });
  } };
}

/** The job events route. */
export const jobEventRoutes: Route[] = [{ method: "GET", path: "/v1/jobs/{id}/events", auth: true, handle: events }];
