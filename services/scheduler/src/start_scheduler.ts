// Builds and starts one scheduler's loops: consumers of `jobs` and `agent-events` in the
// shared group, and the PENDING sweep. The process entry and the tests share this wiring.
import { hostname } from "node:os";
import type { Config } from "@labbridge/config";
import type { Logger } from "@labbridge/logging";
import { createContext, every, isTransientError, jitter, type Clock, type ServiceContext } from "@labbridge/runtime";
import { consumeGroup } from "@labbridge/streams";
import { dispatchPending, resendStaleCancels } from "./dispatch.ts";
import { handleAgentEvent } from "./handle_agent_event.ts";
import { handlePresenceEntries, isPresenceEntry } from "./handle_presence_entries.ts";
import { handleJobCommand } from "./handle_job_command.ts";
import { matcherFor } from "./matcher.ts";
import { startSchedulerMetrics, type SchedulerMetrics } from "./scheduler_metrics.ts";

/** A running scheduler. */
export interface RunningScheduler {
  ctx: ServiceContext;
  /** Its /metrics (LB_SCHEDULER_METRICS_PORT). */
  metrics: SchedulerMetrics;
  /** Stops taking entries, finishes the ones in hand, and closes connections. */
  close: () => Promise<void>;
}

/** Starts the scheduler loops. */
export function startScheduler(config: Config, opts: { clock?: Clock; log?: Logger; consumer?: string } = {}): RunningScheduler {
  const ctx = createContext("scheduler", config, opts);
  const consumer = opts.consumer ?? `scheduler-${hostname()}-${process.pid}`;
  const controller = new AbortController();
  const { signal } = controller;
  const loops = [
    consumeGroup({
      redis: ctx.blockingRedis("jobs"), stream: ctx.streams.jobs, group: "scheduler", consumer, log: ctx.log, signal, isTransient: isTransientError,
      handler: (entry) => handleJobCommand(ctx, entry),
    }),
    consumeGroup({
      redis: ctx.blockingRedis("agent-events"), stream: ctx.streams.agentEvents, group: "scheduler", consumer, log: ctx.log, signal, isTransient: isTransientError,
      handler: (entry) => handleAgentEvent(ctx, entry),
      // A fleet reconnecting at once is thousands of agent.offline and agent.online entries:
      // read many at a time and write their sessions together (handle_presence_entries.ts).
      batch: 2000,
      together: { accepts: isPresenceEntry, handle: (entries) => handlePresenceEntries(ctx, entries) },
    }),
    every(signal, ctx.log, "pending-sweep", () => jitter(config.sweepSeconds * 1000), async () => {
      await dispatchPending(ctx);
      await resendStaleCancels(ctx);
    }),
  ];
  const metrics = startSchedulerMetrics(ctx);
  ctx.log.info({ consumer, prefix: config.prefix }, "scheduler started");
  return {
    ctx,
    metrics,
    close: async () => {
      controller.abort();
      await Promise.allSettled(loops);
      await matcherFor(ctx).close();
      await (await metrics.server)?.close();
      await ctx.close();
    },
  };
}
