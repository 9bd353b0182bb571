// Per-attempt buckets for live log lines (protocol LOG_ALLOWANCE): a session may send log
// frames for each attempt leased to it, and each attempt's lines and bytes are bounded on
// their own, so the cap follows the agent's own per-attempt limit however many slots it
// runs. The frame-type bucket (frame_limits.ts) bounds how often frames come at all.
import { LOG_ALLOWANCE, utf8Length } from "@labbridge/protocol";
import { TokenBucket } from "./token_bucket.ts";

/** Most attempts one session keeps buckets for; a session runs far fewer at once. */
const MAX_TRACKED = 256;

/** The lines and UTF-8 bytes of one frame's log text. */
export function logLoad(lines: readonly string[]): { lines: number; bytes: number } {
  let bytes = 0;
  for (const l of lines) bytes += utf8Length(l);
  return { lines: lines.length, bytes };
}

/** One session's live log buckets, by attempt id. */
export class LogAllowances {
  private readonly byAttempt = new Map<string, { lines: TokenBucket; bytes: TokenBucket }>();

  /** Takes one frame's load from the attempt's buckets; false when it is over its allowance. */
  allow(attemptId: string, load: { lines: number; bytes: number }, now: number): boolean {
    let b = this.byAttempt.get(attemptId);
    if (!b) {
      // Forget the oldest: an attempt that ended without a report here starts full again, which only loosens the cap.
      if (this.byAttempt.size >= MAX_TRACKED) this.byAttempt.delete(this.byAttempt.keys().next().value!);
      b = {
        lines: new TokenBucket({ burst: LOG_ALLOWANCE.lineBurst, perSecond: LOG_ALLOWANCE.linesPerSecond }, now),
        bytes: new TokenBucket({ burst: LOG_ALLOWANCE.byteBurst, perSecond: LOG_ALLOWANCE.bytesPerSecond }, now),
      };
      this.byAttempt.set(attemptId, b);
    }
    // Both are taken or neither matters: a refused frame closes the session.
    return b.lines.take(now, load.lines) && b.bytes.take(now, load.bytes);
  }

  /** Drops an attempt's buckets once it reported. */
  forget(attemptId: string): void {
    this.byAttempt.delete(attemptId);
  }
}
