// Heartbeat timing of the bench's Node clients (fake_agent.ts, control_bytes.ts, the
// connection fleet's client_process.ts): the two intervals the gateway announces in welcome
// (decision 0028), `heartbeat_seconds` while the client holds an attempt and
// `idle_heartbeat_seconds` while it holds none, each ±10%, so the bench carries the traffic
// real agents would (agent/src/session/heartbeat_loop.ts).
import type { WelcomeMessage } from "@labbridge/protocol";

/** The part of welcome that sets the heartbeat. */
export type HeartbeatIntervals = Pick<WelcomeMessage, "heartbeat_seconds" | "idle_heartbeat_seconds">;

/**
 * Milliseconds between beats while holding an attempt or none. As in the agent, the idle
 * interval falls back to the busy one where welcome has none (an older gateway) or one no
 * longer than it.
 */
export function heartbeatIntervalMs(w: HeartbeatIntervals, holding: boolean): number {
  const busy = w.heartbeat_seconds * 1000;
  const idle = (w.idle_heartbeat_seconds ?? 0) * 1000;
  return holding || !(idle > busy) ? busy : idle;
}

/** `ms` moved by up to ±10%, so a fleet that connected together does not beat in step. */
export function jitteredMs(ms: number, random: () => number = Math.random): number {
  return ms * (0.9 + random() * 0.2);
}

/**
 * One client's heartbeat: beats at the interval in use, re-read after every beat. The
 * clients know the moment they take an attempt, so `busy()` pulls a pending idle beat in to
 * within one busy interval (the agent polls instead: its attempts are added in many places).
 */
export class HeartbeatTimer {
  private timer: NodeJS.Timeout | null = null;
  private dueAt = 0;

  constructor(
    private readonly intervals: HeartbeatIntervals,
    private readonly holding: () => boolean,
    private readonly beat: () => void,
  ) {}

  /** Schedules the next beat at the interval in use now. */
  start(): void {
    this.arm(jitteredMs(heartbeatIntervalMs(this.intervals, this.holding())));
  }

  /** An attempt was taken: the next beat comes within one busy interval, not after the rest of an idle wait. */
  busy(): void {
    const soon = jitteredMs(heartbeatIntervalMs(this.intervals, true));
    if (this.timer && this.dueAt - performance.now() > soon) this.arm(soon);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = performance.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.beat();
      this.start();
    }, ms);
  }
}
