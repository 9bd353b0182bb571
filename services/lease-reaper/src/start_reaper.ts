// Builds and starts one lease reaper's sweeps. The process entry and the tests share this.
import type { Config } from "@labbridge/config";
import type { Logger } from "@labbridge/logging";
import { createContext, every, jitter, type Clock, type ServiceContext } from "@labbridge/runtime";
import { markSilentAgents } from "./mark_silent_agents.ts";
import { enforceTimeouts } from "./enforce_timeouts.ts";
import { reapExpiredLeases } from "./reap_expired_leases.ts";
import { restoreLostLeases, type LeaseAudit } from "./restore_lost_leases.ts";
import type { MetricsServer } from "@labbridge/metrics";
import { startReaperMetrics } from "./reaper_metrics.ts";

/** A running reaper. */
export interface RunningReaper {
  ctx: ServiceContext;
  /** Its /metrics (LB_REAPER_METRICS_PORT); null when the port could not be bound. */
  metrics: Promise<MetricsServer | null>;
  close: () => Promise<void>;
}

/** Starts the expired-lease and silent-agent sweeps. */
export function startReaper(config: Config, opts: { clock?: Clock; log?: Logger } = {}): RunningReaper {
  const ctx = createContext("lease-reaper", config, opts);
  const controller = new AbortController();
  // Sweep a few times per heartbeat, so an expiry is acted on well within one interval.
  const idleMs = () => jitter(Math.min(1000, config.heartbeatSeconds * 250));
  const slowMs = () => jitter(config.leaseTtlSeconds * 500);
  const audit: LeaseAudit = { afterId: "" };
  const loops = [
    every(controller.signal, ctx.log, "expired-leases", idleMs, () => reapExpiredLeases(ctx)),
    every(controller.signal, ctx.log, "silent-agents", idleMs, () => markSilentAgents(ctx)),
    // MySQL-side sweeps, slower: a full round per lease TTL is enough to catch a lost lease
    // or an overdue attempt well within one more TTL.
    every(controller.signal, ctx.log, "lost-leases", slowMs, () => restoreLostLeases(ctx, audit)),
    every(controller.signal, ctx.log, "timeouts", slowMs, () => enforceTimeouts(ctx)),
  ];
  const metrics = startReaperMetrics(ctx);
  ctx.log.info({ prefix: config.prefix }, "lease-reaper started");
  return {
    ctx,
    metrics,
    close: async () => {
      controller.abort();
      await Promise.allSettled(loops);
      await (await metrics)?.close();
      await ctx.close();
    },
  };
}
