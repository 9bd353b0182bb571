// While a job runs: every flush interval, its new live log lines go out as one attempt.log
// frame (live_log.ts limits them). Best effort: a frame that finds no session, or a socket
// still holding a backlog, is dropped, not sent later; the full logs are in the store.
import type { AgentMessage } from "../../../packages/protocol/src/index.ts";
import type { LiveLog } from "./live_log.ts";
import { sleep } from "../runtime/timers.ts";

export interface LiveLogLoopOptions {
  attemptId: string;
  live: LiveLog;
  flushMs: number;
  maxBufferedBytes: number;
  /** Bytes the live session has not written yet; null while disconnected. */
  buffered: () => number | null;
  send: (msg: AgentMessage) => boolean;
}

/** Lines that went out in frames the socket took, and lines of frames dropped. */
export interface LiveLogCounts {
  sent: number;
  lost: number;
  frames: number;
}

/** Runs until `signal` aborts, then sends what is left once (call live.end() before aborting). */
export async function liveLogLoop(opts: LiveLogLoopOptions, signal: AbortSignal): Promise<LiveLogCounts> {
  const counts: LiveLogCounts = { sent: 0, lost: 0, frames: 0 };
  const flush = () => {
    const batch = opts.live.take();
    if (!batch) return;
    const n = (batch.stdout?.length ?? 0) + (batch.stderr?.length ?? 0);
    const buffered = opts.buffered();
    // A socket with a backlog is a stalled link: more frames would only arrive in a lump.
    if (buffered !== null && buffered <= opts.maxBufferedBytes && opts.send({ type: "attempt.log", attempt_id: opts.attemptId, ...batch })) {
      counts.sent += n;
      counts.frames++;
    } else {
      counts.lost += n;
    }
  };
  while (!signal.aborted) {
    await sleep(opts.flushMs, signal);
    flush();
  }
  return counts;
}
