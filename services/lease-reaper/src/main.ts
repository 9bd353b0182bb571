// The lease-reaper process: fails or re-queues attempts whose lease expired and marks
// silent agents OFFLINE. Every move is fenced, so several reapers may race safely.
import { loadConfig } from "@labbridge/config";
import { createContext, jitter, sleep, supervise } from "@labbridge/runtime";
import { markSilentAgents } from "./mark_silent_agents.ts";
import { reapExpiredLeases } from "./reap_expired_leases.ts";

const ctx = createContext("lease-reaper", loadConfig());
// Sweep a few times per heartbeat, so an expiry is acted on well within one interval.
const idleMs = () => jitter(Math.min(1000, ctx.config.heartbeatSeconds * 250));

async function sweep(signal: AbortSignal, name: string, pass: () => Promise<boolean>): Promise<void> {
  while (!signal.aborted) {
    let more = false;
    try {
      more = await pass();
    } catch (err) {
      ctx.log.warn({ loop: name, err: (err as Error).message }, "sweep failed");
    }
    if (!more) await sleep(idleMs(), signal);
  }
}

supervise(ctx.log, [
  { name: "expired-leases", run: (signal) => sweep(signal, "expired-leases", () => reapExpiredLeases(ctx)) },
  { name: "silent-agents", run: (signal) => sweep(signal, "silent-agents", () => markSilentAgents(ctx)) },
], [ctx.close]);

ctx.log.info({ prefix: ctx.config.prefix }, "lease-reaper started");
