// What the API's handlers share. Each request gets its own copy of the context whose
// `log` carries the request's id, so every line written while serving it names it.
import type { Counter, Registry } from "@labbridge/metrics";
import type { ServiceContext } from "@labbridge/runtime";
import type { ObjectStorage } from "@labbridge/storage";
import type { RateLimiter } from "@labbridge/streams";
import type { DashboardFile } from "./dashboard_files.ts";
import type { EventStreamSlots } from "./event_stream_slots.ts";
import type { JobEventsHub } from "./job_events_hub.ts";
import type { RecentTokens } from "./recent_tokens.ts";

/** Shared state of one API process; `requestId` is set in the copy one request is served with. */
export interface ApiContext extends ServiceContext {
  storage: ObjectStorage;
  metrics: { registry: Registry; received: Counter; sent: Counter; requests: Counter };
  jobEvents: JobEventsHub;
  /** The built dashboard by URL path; null when web/dist was not built. */
  dashboard: Map<string, DashboardFile> | null;
  rateLimiter: RateLimiter;
  eventStreams: EventStreamSlots;
  /** Tokens that authenticated lately here: let through while their address is over its failure budget. */
  recentTokens: RecentTokens;
  /** The X-Request-Id of the request being served; null outside a request. */
  requestId: string | null;
}
