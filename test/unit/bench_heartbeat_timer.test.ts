import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { heartbeatIntervalMs, HeartbeatTimer, jitteredMs } from "../../loadtest/bench/heartbeat_timer.ts";

// The bench clients beat as the agent does (decision 0028): the idle interval while they
// hold no attempt, the busy one while they hold any, ±10%, and an assignment pulls a
// pending idle beat in to within one busy interval. Timers and performance.now are faked,
// so the schedule is read exactly.

describe("heartbeatIntervalMs", () => {
  it("is the idle interval while holding nothing and the busy one while holding an attempt", () => {
    expect(heartbeatIntervalMs({ heartbeat_seconds: 5, idle_heartbeat_seconds: 15 }, false)).toBe(15_000);
    expect(heartbeatIntervalMs({ heartbeat_seconds: 5, idle_heartbeat_seconds: 15 }, true)).toBe(5_000);
  });

  it("falls back to the busy interval where welcome has no idle one, or one no longer than it", () => {
    expect(heartbeatIntervalMs({ heartbeat_seconds: 5 }, false)).toBe(5_000);
    expect(heartbeatIntervalMs({ heartbeat_seconds: 5, idle_heartbeat_seconds: 2 }, false)).toBe(5_000);
  });
});

describe("jitteredMs", () => {
  it("stays within ±10%", () => {
    expect(jitteredMs(1000, () => 0)).toBe(900);
    expect(jitteredMs(1000, () => 0.5)).toBe(1000);
    expect(jitteredMs(1000, () => 0.999999)).toBeCloseTo(1100, 2);
  });
});

describe("HeartbeatTimer", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] }));
  afterEach(() => vi.useRealTimers());

  it("beats every idle interval (±10%) while holding nothing", () => {
    const beats: number[] = [];
    const timer = new HeartbeatTimer({ heartbeat_seconds: 5, idle_heartbeat_seconds: 15 }, () => false, () => beats.push(performance.now()));
    timer.start();
    vi.advanceTimersByTime(60_000);
    timer.stop();
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(beats.length).toBeLessThanOrEqual(4);
    const gaps = beats.slice(1).map((t, i) => t - beats[i]!);
    for (const g of [beats[0]!, ...gaps]) {
      expect(g).toBeGreaterThanOrEqual(13_500);
      expect(g).toBeLessThanOrEqual(16_500);
    }
  });

  it("beats within one busy interval of taking an attempt, then every busy interval while holding it", () => {
    let holding = false;
    const beats: number[] = [];
    const timer = new HeartbeatTimer({ heartbeat_seconds: 5, idle_heartbeat_seconds: 15 }, () => holding, () => beats.push(performance.now()));
    timer.start();
    vi.advanceTimersByTime(1_000);
    holding = true;
    timer.busy();
    vi.advanceTimersByTime(5_500);
    expect(beats).toHaveLength(1);
    expect(beats[0]!).toBeLessThanOrEqual(1_000 + 5_500);
    vi.advanceTimersByTime(20_000);
    const gaps = beats.slice(1).map((t, i) => t - beats[i]!);
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(4_500);
      expect(g).toBeLessThanOrEqual(5_500);
    }
    timer.stop();
  });

  it("sends nothing after stop", () => {
    let n = 0;
    const timer = new HeartbeatTimer({ heartbeat_seconds: 5 }, () => false, () => n++);
    timer.start();
    timer.stop();
    timer.busy();
    vi.advanceTimersByTime(60_000);
    expect(n).toBe(0);
  });
});
