// What the API's handlers share.
import type { Counter, Registry } from "@labbridge/metrics";
import type { ServiceContext } from "@labbridge/runtime";
import type { ObjectStorage } from "@labbridge/storage";
import type { DashboardFile } from "./dashboard_files.ts";
import type { JobEventsHub } from "./job_events_hub.ts";

/** Shared state of one API process. */
export interface ApiContext extends ServiceContext {
  storage: ObjectStorage;
  metrics: { registry: Registry; received: Counter; sent: Counter; requests: Counter };
  jobEvents: JobEventsHub;
  /** The built dashboard by URL path; null when web/dist was not built. */
  dashboard: Map<string, DashboardFile> | null;
}
