// Heartbeats for one session. The interval comes from the gateway's `welcome` (the server
// owns presence and lease timing); the agent only jitters it by ±10% so a room of agents
// that reconnected together does not beat in lockstep. GPU and host readings ride along
// only when they changed (telemetry.ts), so an idle agent's heartbeat stays tiny.
import { jittered } from "./backoff.ts";
import type { Session } from "./session_hub.ts";
import type { TelemetryFields } from "../telemetry/telemetry.ts";
import { sleep } from "../runtime/timers.ts";

export interface HeartbeatOptions {
  session: Session;
  /** Attempt ids the agent holds right now; the gateway renews their leases. */
  running: () => string[];
  /** Readings that changed since the last acknowledged heartbeat. */
  telemetry?: () => TelemetryFields;
  random?: () => number;
}

/** Beats until `signal` aborts or the session ends. */
export async function heartbeatLoop(opts: HeartbeatOptions, signal: AbortSignal): Promise<void> {
  while (!signal.aborted && opts.session.isLive()) {
    await sleep(jittered(opts.session.heartbeatMs, 0.1, opts.random), signal);
    if (signal.aborted || !opts.session.isLive()) return;
    opts.session.send({ type: "heartbeat", running: opts.running(), ...opts.telemetry?.() });
  }
}
