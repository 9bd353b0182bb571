// When a session counts as silent: the gateway answers every heartbeat, so `heartbeats`
// intervals without any frame from it mean the path is dead (half-open after a NAT, Wi-Fi
// or captive-portal drop). The interval is the one in use (heartbeat_loop.ts): an idle
// agent beats every idle interval, so three busy intervals of quiet would be normal for it.
import { sleep } from "../runtime/timers.ts";

export interface SilenceAlarmOptions {
  /** The heartbeat interval in use now, in ms (busy or idle). */
  intervalMs: () => number;
  /** How many intervals of quiet make the session silent. */
  heartbeats: number;
  /** Monotonic milliseconds. */
  now: () => number;
}

export interface SilenceAlarm {
  /** Aborts once the gateway was silent for the limit. */
  readonly signal: AbortSignal;
  /** The limit, in ms, as it stands now. */
  limitMs(): number;
  /** Stops the alarm's timer (call once the frame came). */
  dispose(): void;
}

/**
 * Arms the alarm for one wait on the next frame, counted from now (the last frame heard).
 * The limit uses the longer of the interval in use now and the one in use when the wait
 * began: when the agent goes idle (its beats space out) the window grows with them, and
 * when it goes busy without a frame, the quiet so far is not judged by the short interval
 * its beats only just started to keep (the next frame, the first busy beat's ack, sets the
 * short window). So the limit only ever grows during one wait, and re-checking it when the
 * timer fires is enough.
 */
export function armSilenceAlarm(opts: SilenceAlarmOptions): SilenceAlarm {
  const heardAt = opts.now();
  const atStart = opts.intervalMs();
  const limitMs = () => opts.heartbeats * Math.max(atStart, opts.intervalMs());
  const silent = new AbortController();
  const stop = new AbortController();
  (async () => {
    while (!stop.signal.aborted) {
      const left = heardAt + limitMs() - opts.now();
      if (left <= 0) return silent.abort();
      await sleep(left, stop.signal);
    }
  })();
  return { signal: silent.signal, limitMs, dispose: () => stop.abort() };
}
