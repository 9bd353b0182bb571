// One attempt's live log: stdout and stderr lines, limited per attempt to a number of lines
// and bytes a second (a token bucket each, with a burst), batched into one attempt.log
// frame per flush. Once a bucket runs dry, every line up to the next flush is skipped and
// the frame carries one "… N lines skipped" line per stream in their place. A redraw
// ("\r") waits for the flush and only the latest one goes out. The full logs are in the
// stored log files; this is what someone watching sees, within a few KB a second.
import { type LogMessage, type LogStream, MAX_LOG_LINES_PER_FRAME, skippedLine } from "../../../packages/protocol/src/index.ts";
import { type LinePiece, LineSplitter } from "./log_lines.ts";

/** The per-attempt cap (runtime/timings.ts liveLog; the gateway's LOG_ALLOWANCE is well above). */
export interface LiveLogLimits {
  /** How often lines go out as one frame. */
  flushMs: number;
  linesPerSecond: number;
  /** UTF-8 bytes of line text a second. */
  bytesPerSecond: number;
  burstLines: number;
  burstBytes: number;
  /** Longer lines are cut (the protocol allows at most MAX_LOG_LINE_CHARS). */
  maxLineChars: number;
  /** A frame is dropped (its lines counted lost) while the socket has more than this unsent. */
  maxBufferedBytes: number;
}

/**
 * 20 lines and 4 KB a second per attempt, a burst of two seconds' worth: a watcher sees a
 * chatty job's output as it scrolls, and a 1 MB/s job costs the 5 Mbit/s link a few KB/s.
 */
export const DEFAULT_LIVE_LOG_LIMITS: LiveLogLimits = {
  flushMs: 500,
  linesPerSecond: 20,
  bytesPerSecond: 4096,
  burstLines: 40,
  burstBytes: 8192,
  maxLineChars: 1024,
  maxBufferedBytes: 64 * 1024,
};

/** What one frame carries: attempt.log without its envelope. */
export type LogBatch = Pick<LogMessage, "stdout" | "stderr" | "skipped">;

const encoder = new TextEncoder();

class Bucket {
  private tokens: number;
  private at: number;

  constructor(private readonly burst: number, private readonly perSecond: number, now: number) {
    this.tokens = burst;
    this.at = now;
  }

  has(n: number, now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + Math.max(0, now - this.at) / 1000 * this.perSecond);
    this.at = Math.max(this.at, now);
    return this.tokens >= n;
  }

  take(n: number): void {
    this.tokens -= n;
  }
}

interface StreamState {
  splitter: LineSplitter;
  lines: string[];
  /** Skipped since the last flush. */
  skipped: number;
  redraw: string | null;
}

export class LiveLog {
  private readonly lineBucket: Bucket;
  private readonly byteBucket: Bucket;
  /** Set when a bucket ran dry: everything is skipped until the next flush, so each frame has at most one summary per stream. */
  private dry = false;
  private readonly streams: Record<LogStream, StreamState>;
  /** Lines handed to frames, and lines skipped, over the attempt. */
  readonly totals = { lines: 0, skipped: 0 };

  constructor(private readonly limits: LiveLogLimits, private readonly now: () => number = Date.now) {
    const t = now();
    this.lineBucket = new Bucket(limits.burstLines, limits.linesPerSecond, t);
    this.byteBucket = new Bucket(limits.burstBytes, limits.bytesPerSecond, t);
    const state = (): StreamState => ({ splitter: new LineSplitter(limits.maxLineChars), lines: [], skipped: 0, redraw: null });
    this.streams = { stdout: state(), stderr: state() };
  }

  /** Feeds raw bytes the job wrote to `stream`. */
  push(stream: LogStream, chunk: Uint8Array): void {
    const s = this.streams[stream];
    s.splitter.push(chunk, (p) => this.piece(s, p));
  }

  /** The job's output ended: an unfinished last line counts as a line. */
  end(): void {
    for (const s of Object.values(this.streams)) s.splitter.end((p) => this.piece(s, p));
  }

  /** The frame for the lines since the last call, or null when there is nothing to say. */
  take(): LogBatch | null {
    const batch: LogBatch = {};
    for (const stream of ["stdout", "stderr"] as const) {
      const s = this.streams[stream];
      if (s.redraw !== null) this.admit(s, s.redraw);
      s.redraw = null;
      if (s.skipped > 0) {
        s.lines.push(skippedLine(s.skipped));
        (batch.skipped ??= {})[stream] = s.skipped;
        this.totals.skipped += s.skipped;
      }
      if (s.lines.length > 0) batch[stream] = s.lines;
      s.lines = [];
      s.skipped = 0;
    }
    this.dry = false;
    return batch.stdout || batch.stderr ? batch : null;
  }

  private piece(s: StreamState, p: LinePiece): void {
    // A redraw is overwritten by whatever comes next on its row: only the latest goes out.
    if (p.kind === "redraw") s.redraw = p.text;
    else {
      s.redraw = null;
      this.admit(s, p.text);
    }
  }

  private admit(s: StreamState, line: string): void {
    const now = this.now();
    const bytes = encoder.encode(line).length;
    // One place is kept for the summary line, so a frame never holds more than the protocol allows.
    if (!this.dry && s.lines.length < MAX_LOG_LINES_PER_FRAME - 1 && this.lineBucket.has(1, now) && this.byteBucket.has(bytes, now)) {
      this.lineBucket.take(1);
      this.byteBucket.take(bytes);
      s.lines.push(line);
      this.totals.lines++;
      return;
    }
    this.dry = true;
    s.skipped++;
  }
}
