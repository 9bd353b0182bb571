// Builds and starts one API: the process entry (main.ts) and the integration tests both
// come through here, so tests run the same wiring with their own prefix and database.
import type { Config } from "@labbridge/config";
import { logCountersEvery, Registry } from "@labbridge/metrics";
import { createContext, type Clock } from "@labbridge/runtime";
import { createObjectStorage } from "@labbridge/storage";
import { RateLimiter } from "@labbridge/streams";
import { loadNativeUws } from "@labbridge/uws";
import type { Logger } from "@labbridge/logging";
import type { ApiContext } from "./api_context.ts";
import { startApiServer } from "./api_server.ts";
import { DEFAULT_WEB_DIR, loadDashboardFiles } from "./dashboard_files.ts";
import { EventStreamSlots } from "./event_stream_slots.ts";
import { JobEventsHub } from "./job_events_hub.ts";
import { RecentTokens } from "./recent_tokens.ts";

// How long a token that authenticated stays "known good" for an address over its failure budget.
const RECENT_TOKEN_MS = 10 * 60_000;

/** A running API. */
export interface RunningApi {
  ctx: ApiContext;
  port: number;
  close: () => Promise<void>;
}

/** Starts the API on config.apiPort (0 = any free port). */
export async function startApi(config: Config, opts: { clock?: Clock; log?: Logger } = {}): Promise<RunningApi> {
  const uws = loadNativeUws();
  const base = createContext("api", config, opts);
  if (!config.adminToken) base.log.warn("LB_ADMIN_TOKEN is not set: no admin can call the API until it is");
  const webDir = config.webDir ?? DEFAULT_WEB_DIR;
  const dashboard = loadDashboardFiles(webDir);
  if (!dashboard) base.log.warn({ web_dir: webDir }, "dashboard is not built (npm run build): GET / answers 404");
  const registry = new Registry();
  const ctx: ApiContext = {
    ...base,
    jobEvents: new JobEventsHub(base),
    dashboard,
    rateLimiter: new RateLimiter(base.redis, config.prefix),
    eventStreams: new EventStreamSlots(config.apiEventStreamsPerUser),
    recentTokens: new RecentTokens(RECENT_TOKEN_MS),
    requestId: null,
    storage: createObjectStorage(config.storage, base.clock),
    metrics: {
      registry,
      received: registry.counter("lb_api_http_received_bytes_total", "Bytes received in HTTP requests (headers and bodies)"),
      sent: registry.counter("lb_api_http_sent_bytes_total", "Bytes sent in HTTP responses"),
      requests: registry.counter("lb_api_http_requests_total", "HTTP requests by method"),
    },
  };
  const server = await startApiServer(ctx, uws);
  const stopCounterLog = logCountersEvery(config.metricsLogSeconds, (f, m) => ctx.log.info(f, m), [ctx.metrics.received, ctx.metrics.sent]);
  ctx.log.info({ port: server.port, url: `http://127.0.0.1:${server.port}`, prefix: config.prefix }, "api listening");
  return {
    ctx,
    port: server.port,
    close: async () => {
      server.close();
      stopCounterLog();
      await ctx.jobEvents.close();
      await base.close();
    },
  };
}
