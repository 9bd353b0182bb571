// The live log's limiter and batching on an injected clock, its line splitting, and the
// loop that sends its frames.
import { LOG_ALLOWANCE, MAX_LOG_LINE_CHARS, skippedLine } from "../../packages/protocol/src/index.ts";
import { LiveLog, type LiveLogLimits } from "../src/attempt/live_log.ts";
import { type LinePiece, LineSplitter } from "../src/attempt/log_lines.ts";
import { liveLogLoop } from "../src/attempt/live_log_loop.ts";
import { DEFAULT_TIMINGS } from "../src/runtime/timings.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { until } from "./helpers/wait.ts";

const enc = new TextEncoder();
const LIMITS: LiveLogLimits = {
  flushMs: 500,
  linesPerSecond: 10,
  bytesPerSecond: 1000,
  burstLines: 5,
  burstBytes: 500,
  maxLineChars: 64,
  maxBufferedBytes: 1 << 16,
};

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

function split(chunks: string[], max = 64): LinePiece[] {
  const s = new LineSplitter(max);
  const out: LinePiece[] = [];
  for (const c of chunks) s.push(enc.encode(c), (p) => out.push(p));
  s.end((p) => out.push(p));
  return out;
}

Deno.test("line splitter: \\n and \\r\\n end lines (a \\r\\n split between chunks too: a redraw at once, then the line), a lone \\r ends a redraw, the unfinished tail is a line at the end", () => {
  assertEquals(split(["a\nb\r", "\nc\r\n10%\r20%\rdone\ntail"]), [
    { kind: "line", text: "a" },
    { kind: "redraw", text: "b" },
    { kind: "line", text: "b" },
    { kind: "line", text: "c" },
    { kind: "redraw", text: "10%" },
    { kind: "redraw", text: "20%" },
    { kind: "line", text: "done" },
    { kind: "line", text: "tail" },
  ]);
});

Deno.test("line splitter: a long line keeps its head at the limit, and a multi-byte character split between chunks stays whole", () => {
  const euro = enc.encode("€");
  const s = new LineSplitter(8);
  const out: LinePiece[] = [];
  s.push(euro.subarray(0, 1), (p) => out.push(p));
  s.push(euro.subarray(1), (p) => out.push(p));
  s.push(enc.encode("x".repeat(100_000) + "\nok\n"), (p) => out.push(p));
  assertEquals(out, [{ kind: "line", text: "€xxxxxxx" }, { kind: "line", text: "ok" }]);
});

Deno.test("live log: lines within the burst go out in one frame per flush, stdout and stderr apart", () => {
  const c = clock();
  const live = new LiveLog(LIMITS, c.now);
  live.push("stdout", enc.encode("one\ntwo\n"));
  live.push("stderr", enc.encode("warn\n"));
  assertEquals(live.take(), { stdout: ["one", "two"], stderr: ["warn"] });
  assertEquals(live.take(), null);
});

Deno.test("live log: past the line burst the rest of the interval is skipped and summarized once per stream, and the bucket refills with time", () => {
  const c = clock();
  const live = new LiveLog(LIMITS, c.now);
  live.push("stdout", enc.encode(Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n") + "\n"));
  assertEquals(live.take(), { stdout: ["line 0", "line 1", "line 2", "line 3", "line 4", skippedLine(95)], skipped: { stdout: 95 } });
  c.advance(500); // 10 lines/s: 5 more lines' worth
  live.push("stdout", enc.encode(Array.from({ length: 20 }, (_, i) => `again ${i}`).join("\n") + "\n"));
  live.push("stderr", enc.encode("err after dry\n"));
  const second = live.take()!;
  assertEquals(second.stdout, ["again 0", "again 1", "again 2", "again 3", "again 4", skippedLine(15)]);
  assertEquals(second.stderr, [skippedLine(1)]);
  assertEquals(live.totals, { lines: 10, skipped: 111 });
});

Deno.test("live log: the byte bucket bounds long lines too", () => {
  const c = clock();
  const live = new LiveLog(LIMITS, c.now);
  const line = "y".repeat(60); // 500 bytes of burst: 8 lines of 60
  live.push("stdout", enc.encode(`${line}\n`.repeat(3)));
  c.advance(1000); // lines refill, bytes are full already
  live.push("stdout", enc.encode(`${line}\n`.repeat(9)));
  const batch = live.take()!;
  assertEquals(batch.stdout!.length, 9); // 8 lines, then the summary
  assertEquals(batch.skipped, { stdout: 4 });
});

Deno.test("live log: of many redraws in an interval only the latest goes out, and a line overwrites a pending redraw", () => {
  const c = clock();
  const live = new LiveLog(LIMITS, c.now);
  live.push("stderr", enc.encode("10%\r20%\r30%\r"));
  assertEquals(live.take(), { stderr: ["30%"] });
  live.push("stderr", enc.encode("40%\r50%\rfinished\n"));
  assertEquals(live.take(), { stderr: ["finished"] });
  live.push("stdout", enc.encode("last words"));
  assertEquals(live.take(), null);
  live.end();
  assertEquals(live.take(), { stdout: ["last words"] });
});

Deno.test("live log: a job printing 1 MB/s for 10 s yields at most the cap a second, and the default cap fits well inside the gateway's allowance", () => {
  const c = clock();
  const limits = DEFAULT_TIMINGS.liveLog;
  const live = new LiveLog(limits, c.now);
  const chunk = enc.encode(("z".repeat(99) + "\n").repeat(1000)); // 100 KB, 1000 lines
  let lines = 0, bytes = 0, frames = 0;
  for (let ms = 0; ms < 10_000; ms += 100) {
    live.push("stdout", chunk);
    c.advance(100);
    if (ms % limits.flushMs === limits.flushMs - 100) {
      const b = live.take();
      if (!b) continue;
      frames++;
      lines += b.stdout!.length;
      bytes += JSON.stringify({ type: "attempt.log", attempt_id: "att_x", ...b }).length;
    }
  }
  assertEquals(frames, 20);
  const perSecond = { lines: lines / 10, bytes: bytes / 10 };
  assert(perSecond.lines <= limits.linesPerSecond + limits.burstLines / 10 + 2 * (1000 / limits.flushMs), `lines/s ${perSecond.lines}`);
  assert(perSecond.bytes <= 6 * 1024, `frame bytes/s ${perSecond.bytes}`);
  assert(live.totals.skipped > 99_000, `skipped ${live.totals.skipped}`);
  // The agent's most in a second (a full burst, refill and one summary per stream per frame) stays under the gateway's.
  const summaries = 2 * (1000 / limits.flushMs);
  assert(limits.linesPerSecond + summaries <= LOG_ALLOWANCE.linesPerSecond / 2);
  assert(limits.bytesPerSecond + summaries * 40 <= LOG_ALLOWANCE.bytesPerSecond / 2);
  assert(limits.burstLines + 15 * (limits.linesPerSecond + summaries) <= LOG_ALLOWANCE.lineBurst, "15 s of frames bunched behind a stalled link");
  assert(limits.burstBytes + 15 * (limits.bytesPerSecond + summaries * 40) <= LOG_ALLOWANCE.byteBurst, "15 s of bytes bunched behind a stalled link");
  assert(limits.maxLineChars <= MAX_LOG_LINE_CHARS);
});

Deno.test("live log loop: a frame with no session or behind a socket backlog is dropped, not kept for later; the last lines go out when it stops", async () => {
  const live = new LiveLog(LIMITS);
  const sent: unknown[] = [];
  let buffered: number | null = null;
  const stop = new AbortController();
  let flushes = 0;
  const loop = liveLogLoop({
    attemptId: "att_1",
    live,
    flushMs: 1,
    maxBufferedBytes: 100,
    buffered: () => (flushes++, buffered), // asked once per frame that has lines
    send: (m) => (sent.push(m), true),
  }, stop.signal);
  const flushed = async (n: number) => {
    const target = flushes + n;
    await until(() => flushes >= target || undefined, `${n} flushes`);
  };
  live.push("stdout", enc.encode("while disconnected\n"));
  await flushed(1);
  buffered = 500;
  live.push("stdout", enc.encode("behind a backlog\n"));
  await flushed(1);
  assertEquals(sent, []);
  buffered = 0;
  live.push("stderr", enc.encode("last words"));
  live.end();
  stop.abort();
  const counts = await loop;
  assertEquals(sent, [{ type: "attempt.log", attempt_id: "att_1", stderr: ["last words"] }], "nothing dropped comes back later");
  assertEquals(counts, { sent: 1, lost: 2, frames: 1 });
});
