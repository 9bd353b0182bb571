// GET /v1/jobs/{id}/events read with fetch and a stream reader: EventSource cannot send an
// Authorization header, and the token must never go in a URL. Events are parsed by
// eventsource-parser and handed on as they come; the stream ends when the job does.
import { createParser } from "eventsource-parser";
import { authHeaders, failureOf } from "./client.ts";
import type { JobEvent } from "@labbridge/protocol";

/** Follows a job's events until the stream ends or `signal` aborts; throws ApiFailure when the API refuses. */
export async function followJobEvents(jobId: string, onEvent: (e: JobEvent) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(`/v1/jobs/${encodeURIComponent(jobId)}/events`, { headers: authHeaders({ accept: "text/event-stream" }), signal });
  if (!res.ok || !res.body) throw await failureOf(res);
  const parser = createParser({
    onEvent: (m) => {
      if (!m.event) return;
      try {
        onEvent({ event: m.event, data: JSON.parse(m.data) } as JobEvent);
      } catch {
        // an event this page cannot read is skipped, not fatal to the rest
      }
    },
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(value);
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  } finally {
    reader.releaseLock();
  }
}
