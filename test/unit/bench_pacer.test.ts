import { describe, expect, it } from "vitest";
import { dueCount, paced, unpaced } from "../../loadtest/bench/pacer.ts";

// Open-loop pacing (sends go out on schedule, answered or not) and the closed loop of a
// fixed number of concurrent clients.

describe("dueCount", () => {
  it("has the first send due at once and one more every 1/rate seconds, never more than the total", () => {
    expect([dueCount(0, 100, 5), dueCount(9.9, 100, 5), dueCount(10, 100, 5), dueCount(35, 100, 5), dueCount(10_000, 100, 5)]).toEqual([1, 1, 2, 4, 5]);
    expect(dueCount(-1, 100, 5)).toBe(0);
  });
});

describe("paced", () => {
  it("starts rate×seconds sends, each no earlier than its slot, without waiting for earlier ones to be answered", async () => {
    let t = 0;
    const clock = () => (t += 1); // every look at the clock is a millisecond later
    const startedAt: number[] = [];
    const never = new Promise<void>(() => undefined);
    const sends = await paced(200, 0.05, () => {
      startedAt.push(t);
      return never; // no send is ever answered: a closed loop would stop after the first
    }, clock);
    expect(sends).toHaveLength(10);
    startedAt.forEach((at, i) => expect(at - 1).toBeGreaterThanOrEqual(i * 5));
  });
});

describe("unpaced", () => {
  it("runs every call with exactly `concurrency` in flight while there is work", async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await unpaced(20, 4, async (i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      done.push(i);
    });
    expect(most).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
