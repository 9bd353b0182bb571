// Heartbeats for one session. Both intervals come from the gateway's `welcome` (the server
// owns presence and lease timing): `heartbeat_seconds` while the agent holds any attempt
// (its leases need several renewals per TTL), `idle_heartbeat_seconds` while it holds none
// (decision 0028: an idle fleet's wire bytes are mostly framing, so only fewer beats help).
// The agent only jitters them by ±10% so a room of agents that reconnected together does
// not beat in lockstep. GPU and host readings ride along only when they changed
// (telemetry.ts), so an idle agent's heartbeat stays tiny.
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
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
}

/** The heartbeat interval in use now: the busy one while any attempt is held, else the idle one. */
export function intervalInUse(session: Pick<Session, "heartbeatMs" | "idleHeartbeatMs">, holding: boolean): number {
  return holding ? session.heartbeatMs : session.idleHeartbeatMs;
}

/**
 * Beats until `signal` aborts or the session ends.
 *
 * The loop wakes every busy interval, idle or not, and sends when it holds an attempt or
 * when the idle interval since the last beat has passed. So an assignment taken in the
 * middle of a 15 s idle wait gets its first lease renewal within one busy interval, not
 * after the rest of the idle sleep. A wake signal from whoever adds an attempt would be a
 * little sooner, but would tie every path that changes `running()` to this loop; a timer
 * wake that sends nothing costs no bytes on the wire, which is the budget the idle interval
 * exists for.
 *
 * Which interval the next beat is due in is set by the frame just sent (hello, then each
 * beat): the gateway sizes the session's presence window from its `running` list (decision
 * 0028), so a frame that listed attempts is followed within a busy interval even when they
 * are all done by then (that beat, saying `running: []`, opens the idle window), and only
 * one that listed none buys an idle wait. One jitter factor per beat stretches both
 * intervals alike, so where they are equal (a gateway that announces no idle interval)
 * every wake is a beat, as before.
 */
export async function heartbeatLoop(opts: HeartbeatOptions, signal: AbortSignal): Promise<void> {
  const { session } = opts;
  const now = opts.now ?? (() => performance.now());
  let stretch = jittered(1, 0.1, opts.random);
  let nextWake = now() + session.heartbeatMs * stretch;
  // hello went out a moment ago listing what running() lists now.
  let idleDue = now() + intervalInUse(session, opts.running().length > 0) * stretch;
  while (!signal.aborted && session.isLive()) {
    await sleep(Math.min(nextWake, idleDue) - now(), signal);
    if (signal.aborted || !session.isLive()) return;
    const running = opts.running();
    if (running.length === 0 && now() < idleDue) {
      nextWake += session.heartbeatMs * stretch;
      continue;
    }
    session.send({ type: "heartbeat", running, ...opts.telemetry?.() });
    const sentAt = now();
    stretch = jittered(1, 0.1, opts.random);
    nextWake = sentAt + session.heartbeatMs * stretch;
    idleDue = sentAt + intervalInUse(session, running.length > 0) * stretch;
  }
}
