// A chatty job's live log through a real agent and a fake gateway over a real socket:
// lines of both streams arrive in attempt.log frames, bounded by the agent's cap, with the
// rest summarized, and the full logs still go to the store.
import { skippedLine } from "../../packages/protocol/src/index.ts";
import type { LiveLogLimits } from "../src/attempt/live_log.ts";
import { DEFAULT_TIMINGS } from "../src/runtime/timings.ts";
import { makeAssign, withAgent } from "./helpers/agent_harness.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

const LIVE: LiveLogLimits = { ...DEFAULT_TIMINGS.liveLog, flushMs: 100, linesPerSecond: 20, burstLines: 10 };
const SCRIPT = 'seq -f "out %g" 3000; seq -f "err %g" 500 >&2; printf "10%%\\r50%%\\r100%%\\r"; sleep 0.5; echo done';
const isSummary = (l: string) => /^… \d+ lines? skipped$/.test(l);

Deno.test("live log: a chatty job's stdout and stderr lines arrive bounded by the cap, the rest counted and summarized, before the report", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    const assign = makeAssign(["sh", "-c", SCRIPT]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    await gw.waitFor("attempt.start_request");
    const started = Date.now();
    await gw.waitFor("attempt.finished");
    const seconds = (Date.now() - started) / 1000;

    const frames = gw.frames.filter((f) => f.msg.type === "attempt.log" || f.msg.type === "attempt.finished").map((f) => f.msg);
    const logs = gw.framesOf("attempt.log");
    assert(logs.length > 0, "no attempt.log frames");
    assertEquals(frames.at(-1)!.type, "attempt.finished", "every log frame comes before the report");
    assert(logs.every((f) => f.attempt_id === assign.attempt_id));

    for (const stream of ["stdout", "stderr"] as const) {
      const lines = logs.flatMap((f) => f[stream] ?? []);
      const real = lines.filter((l) => !isSummary(l));
      const skipped = logs.reduce((n, f) => n + (f.skipped?.[stream] ?? 0), 0);
      // stdout: 3000 lines, the latest redraw (100%: taken at a flush during the sleep) and "done"; 10% and 50% were overwritten.
      const printed = stream === "stdout" ? 3002 : 500;
      assert(skipped > 0, `${stream}: nothing was skipped`);
      assertEquals(real.length + skipped, printed, `${stream}: every line printed is delivered or counted`);
      for (const f of logs) if (f.skipped?.[stream]) assertEquals(f[stream]!.at(-1), skippedLine(f.skipped[stream]!));
    }
    const delivered = logs.flatMap((f) => [...(f.stdout ?? []), ...(f.stderr ?? [])]).filter((l) => !isSummary(l)).length;
    assert(delivered <= LIVE.burstLines + LIVE.linesPerSecond * (seconds + 1), `${delivered} lines in ${seconds} s`);
    const out = logs.flatMap((f) => f.stdout ?? []);
    assertEquals(out.slice(0, 10), Array.from({ length: 10 }, (_, i) => `out ${i + 1}`), "the burst is the first lines");
    assertEquals(out.at(-1), "done", "the last line arrives once the bucket refilled");
    assert(!out.includes("10%") && !out.includes("50%"), "only the latest redraw may go out");

    // The full logs are in the store all the same.
    const prefix = `jobs/${assign.job_id}/${assign.attempt_id}/logs/`;
    const stored = new TextDecoder().decode(store.puts.get(`${prefix}stdout.log`)!.bytes).split("\n");
    assertEquals(stored.length, 3002);
    assertEquals(new TextDecoder().decode(store.puts.get(`${prefix}stderr.log`)!.bytes).split("\n").length, 501);
    const closed = await agent.waitLog("live log closed");
    assertEquals(closed.frame_lines_lost, 0);
    assertEquals(closed.frames, logs.length);
    assertEquals(closed.lines_skipped, logs.reduce((n, f) => n + (f.skipped?.stdout ?? 0) + (f.skipped?.stderr ?? 0), 0));
  }, { liveLog: LIVE });
});
