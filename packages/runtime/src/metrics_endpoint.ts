// Starts a service's own /metrics port (scheduler, lease-reaper). A port that cannot be
// bound is logged and the service runs on without metrics: a scrape endpoint is never a
// reason to stop assigning jobs or reaping leases.
import { serveMetrics, type MetricsServer, type Registry } from "@labbridge/metrics";
import type { ServiceContext } from "./context.ts";

/** Serves `registry` on `port` (0 = any free port); null when the port cannot be bound. */
export async function startMetricsEndpoint(ctx: ServiceContext, registry: Registry, port: number, refresh: () => Promise<void>): Promise<MetricsServer | null> {
  try {
    const server = await serveMetrics({
      registry, port, host: ctx.config.host, refresh,
      onError: (err) => ctx.log.warn({ err: err.message }, "metrics refresh failed; serving the last values"),
    });
    ctx.log.info({ port: server.port, url: `http://127.0.0.1:${server.port}/metrics` }, "metrics listening");
    return server;
  } catch (err) {
    ctx.log.error({ port, err: (err as Error).message }, "metrics port could not be bound; running without /metrics");
    return null;
  }
}
