// The scheduler process: owns the job state machine. Consumes `jobs` and `agent-events`
// in shared consumer groups (run several), and sweeps MySQL for PENDING jobs so a lost
// stream entry never loses a job.
import { hostname } from "node:os";
import { loadConfig } from "@labbridge/config";
import { createContext, every, jitter, supervise } from "@labbridge/runtime";
import { consumeGroup } from "@labbridge/streams";
import { dispatchPending } from "./dispatch.ts";
import { handleAgentEvent } from "./handle_agent_event.ts";
import { handleJobCommand } from "./handle_job_command.ts";

const ctx = createContext("scheduler", loadConfig());
const consumer = `scheduler-${hostname()}-${process.pid}`;

const { signal } = supervise(ctx.log, [
  {
    name: "jobs",
    run: (signal) => consumeGroup({
      redis: ctx.blockingRedis("jobs"), stream: ctx.streams.jobs, group: "scheduler", consumer, log: ctx.log, signal,
      handler: (entry) => handleJobCommand(ctx, entry),
    }),
  },
  {
    name: "agent-events",
    run: (signal) => consumeGroup({
      redis: ctx.blockingRedis("agent-events"), stream: ctx.streams.agentEvents, group: "scheduler", consumer, log: ctx.log, signal,
      handler: (entry) => handleAgentEvent(ctx, entry),
    }),
  },
  {
    name: "pending-sweep",
    run: (signal) => every(signal, ctx.log, "pending-sweep", () => jitter(ctx.config.sweepSeconds * 1000), async () => {
      await dispatchPending(ctx);
    }),
  },
], [ctx.close]);

ctx.log.info({ consumer, prefix: ctx.config.prefix, aborted: signal.aborted }, "scheduler started");
