// The queue as /metrics shows it on the scheduler and the reaper (API.md "Service
// endpoints"): jobs by state and PENDING jobs by reason from MySQL, and each consumer
// group's lag and pending entries from XINFO GROUPS. Read at scrape time, a few queries.
import type { GaugeSet, Registry } from "@labbridge/metrics";
import { pendingByReason } from "@labbridge/store";
import type { ServiceContext } from "./context.ts";

/** The queue gauges, registered on a registry, and the refresh that reads them. */
export interface QueueMetrics {
  jobs: GaugeSet;
  pending: GaugeSet;
  lag: GaugeSet;
  groupPending: GaugeSet;
  /** Reads every gauge again (call before rendering). */
  refresh: () => Promise<void>;
}

/** Registers the queue gauges on `registry`. */
export function registerQueueMetrics(registry: Registry, ctx: ServiceContext): QueueMetrics {
  const jobs = registry.gaugeSet("lb_jobs", "Jobs by state");
  const pending = registry.gaugeSet("lb_pending_jobs", "PENDING jobs by the reason they wait (queue.reason)");
  const lag = registry.gaugeSet("lb_stream_group_lag", "Entries of a stream a consumer group has not read yet");
  const groupPending = registry.gaugeSet("lb_stream_group_pending", "Entries a consumer group has read but not acknowledged");
  const streams = [ctx.streams.jobs, ctx.streams.agentEvents, ctx.streams.jobEvents];
  const refresh = async () => {
    const [[rows], reasons, groups] = await Promise.all([
      ctx.pool.query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state"),
      pendingByReason(ctx.pool),
      Promise.all(streams.map((s) => streamGroups(ctx, s))),
    ]);
    jobs.replace((rows as { state: string; n: number }[]).map((r) => ({ labels: { state: r.state }, value: Number(r.n) })));
    pending.replace([...reasons].map(([reason, n]) => ({ labels: { reason }, value: n })));
    const flat = groups.flat();
    lag.replace(flat.map((g) => ({ labels: { stream: g.stream, group: g.group }, value: g.lag })));
    groupPending.replace(flat.map((g) => ({ labels: { stream: g.stream, group: g.group }, value: g.pending })));
  };
  return { jobs, pending, lag, groupPending, refresh };
}

// XINFO GROUPS answers flat name/value pairs per group. `lag` is null when Redis cannot
// tell (entries deleted since); it is then reported as -1 rather than guessed.
async function streamGroups(ctx: ServiceContext, stream: string): Promise<{ stream: string; group: string; lag: number; pending: number }[]> {
  let raw: unknown[][];
  try {
    raw = (await ctx.redis.xinfo("GROUPS", stream)) as unknown[][];
  } catch (err) {
    if (/no such key/i.test((err as Error).message)) return [];
    throw err;
  }
  return raw.map((pairs) => {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < pairs.length; i += 2) info.set(String(pairs[i]), pairs[i + 1]);
    const lagValue = info.get("lag");
    return {
      stream,
      group: String(info.get("name")),
      lag: lagValue === null || lagValue === undefined ? -1 : Number(lagValue),
      pending: Number(info.get("pending") ?? 0),
    };
  });
}
