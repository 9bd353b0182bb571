// The scheduler's /metrics (LB_SCHEDULER_METRICS_PORT): the queue gauges shared with the
// reaper, and the dispatch latency histogram, submit → ASSIGNED, observed as each
// assignment commits.
import { idTimeMs } from "@labbridge/protocol";
import { Registry, type Histogram, type MetricsServer } from "@labbridge/metrics";
import { registerQueueMetrics, startMetricsEndpoint, type ServiceContext } from "@labbridge/runtime";

// Seconds, as Prometheus names them: from a few milliseconds (idle agents) to a minute.
const DISPATCH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const histograms = new WeakMap<ServiceContext, Histogram>();

/** The scheduler's registry and its endpoint (null when the port could not be bound). */
export interface SchedulerMetrics {
  registry: Registry;
  dispatch: Histogram;
  server: Promise<MetricsServer | null>;
}

/** Registers the scheduler's metrics on a new registry and serves them. */
export function startSchedulerMetrics(ctx: ServiceContext): SchedulerMetrics {
  const registry = new Registry();
  const queue = registerQueueMetrics(registry, ctx);
  const dispatch = registry.histogram("lb_dispatch_latency_seconds", "Time from submit to ASSIGNED, observed when the assignment commits", DISPATCH_BUCKETS);
  histograms.set(ctx, dispatch);
  return { registry, dispatch, server: startMetricsEndpoint(ctx, registry, ctx.config.schedulerMetricsPort, queue.refresh) };
}

/** Records one dispatch latency in ms (no-op for a context without scheduler metrics). */
export function observeDispatch(ctx: ServiceContext, ms: number): void {
  histograms.get(ctx)?.observe(Math.max(0, ms) / 1000);
}

/** Records the dispatch latency of a job assigned now; its submit time is in its id (newId). */
export function observeAssigned(ctx: ServiceContext, jobId: string): void {
  const submittedAt = idTimeMs(jobId);
  if (submittedAt !== null) observeDispatch(ctx, ctx.clock() - submittedAt);
}
