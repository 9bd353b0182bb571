// The lease reaper's /metrics (LB_REAPER_METRICS_PORT): the same queue gauges as the
// scheduler's (jobs by state, PENDING by reason, consumer group lag), so either service
// alone is enough to watch the queue.
import { Registry, type MetricsServer } from "@labbridge/metrics";
import { registerQueueMetrics, startMetricsEndpoint, type ServiceContext } from "@labbridge/runtime";

/** Registers the reaper's metrics and serves them; null when the port could not be bound. */
export function startReaperMetrics(ctx: ServiceContext): Promise<MetricsServer | null> {
  const registry = new Registry();
  const queue = registerQueueMetrics(registry, ctx);
  return startMetricsEndpoint(ctx, registry, ctx.config.reaperMetricsPort, queue.refresh);
}
