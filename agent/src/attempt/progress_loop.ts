// While a job runs: every interval, if it printed a new line since the last report, send
// that line as attempt.progress. Best effort: a progress line lost to a disconnect is
// simply superseded by the next one.
import type { LineTracker } from "./line_tracker.ts";
import { truncateMessage } from "./line_tracker.ts";
import { sleep } from "../runtime/timers.ts";

export interface ProgressOptions {
  intervalMs: number;
  lines: LineTracker;
  send: (message: string) => boolean;
}

/** Runs until `signal` aborts (the job exited or was stopped). */
export async function progressLoop(opts: ProgressOptions, signal: AbortSignal): Promise<void> {
  let sentSeq = 0;
  while (!signal.aborted) {
    await sleep(opts.intervalMs, signal);
    if (signal.aborted) return;
    const latest = opts.lines.latest();
    if (!latest || latest.seq === sentSeq) continue;
    if (opts.send(truncateMessage(latest.line))) sentSeq = latest.seq;
  }
}
