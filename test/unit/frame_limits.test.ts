import { describe, expect, it } from "vitest";
import { FrameLimiter, frameLimits } from "../../services/gateway/src/frame_limits.ts";
import { TokenBucket } from "../../services/gateway/src/token_bucket.ts";
import { KeyedLimiter } from "../../services/gateway/src/connection_limits.ts";

// Token buckets on an explicit clock, the gateway's table of limits by frame type, and its
// keyed limiters for connections.

const T0 = 1_700_000_000_000;

describe("TokenBucket", () => {
  it("allows a burst at once, then one frame per refill interval", () => {
    const b = new TokenBucket({ burst: 3, perSecond: 2 }, T0);
    expect([b.take(T0), b.take(T0), b.take(T0), b.take(T0)]).toEqual([true, true, true, false]);
    expect(b.take(T0 + 499)).toBe(false);
    expect(b.take(T0 + 500)).toBe(true);
    expect(b.take(T0 + 500)).toBe(false);
  });

  it("never holds more than its burst, however long it was idle, and a clock stepping back refills nothing", () => {
    const b = new TokenBucket({ burst: 2, perSecond: 1 }, T0);
    expect([b.take(T0 + 3_600_000), b.take(T0 + 3_600_000), b.take(T0 + 3_600_000)]).toEqual([true, true, false]);
    expect(b.take(T0)).toBe(false);
  });
});

describe("TokenBucket.take(n)", () => {
  it("takes n tokens at once (lines or bytes of a frame), and none when fewer are left", () => {
    const b = new TokenBucket({ burst: 100, perSecond: 10 }, T0);
    expect(b.take(T0, 60)).toBe(true);
    expect(b.take(T0, 60)).toBe(false);
    expect(b.take(T0, 40)).toBe(true);
    expect(b.take(T0 + 1000, 11)).toBe(false);
    expect(b.take(T0 + 1000, 10)).toBe(true);
  });
});

describe("FrameLimiter", () => {
  it("keeps one bucket per frame type named in the table, and one default bucket shared by every other type", () => {
    const limiter = new FrameLimiter({ heartbeat: { burst: 2, perSecond: 0 }, default: { burst: 1, perSecond: 0 } });
    expect([limiter.allow("heartbeat", T0), limiter.allow("heartbeat", T0), limiter.allow("heartbeat", T0)]).toEqual([true, true, false]);
    expect(limiter.allow("hello", T0)).toBe(true);
    expect(limiter.allow("attempt.something_new", T0)).toBe(false);
    expect(limiter.limitOf("toString")).toEqual({ burst: 1, perSecond: 0 });
  });

  it("sizes the gateway's table so a legit agent never reaches it: 2 heartbeats per interval, bursts of 500 presign requests and of two largest attempts' output chunks", () => {
    const table = frameLimits(5);
    expect(table.heartbeat).toEqual({ burst: 10, perSecond: 0.4 });
    expect(table["presign.request"]!.burst).toBeGreaterThanOrEqual(200);
    expect(table["attempt.outputs"]!.burst).toBeGreaterThanOrEqual(2 * Math.ceil(100_000 / 240));
    for (const type of ["attempt.start_request", "attempt.progress", "attempt.finished", "attempt.log"]) expect(table[type], type).toBeDefined();
    // Live log frames: one per attempt per flush (500 ms by default, never under 250 ms): 32 chatty attempts at once.
    expect(table["attempt.log"]!.perSecond).toBeGreaterThanOrEqual(32 * 4);
    // Start requests and reports follow the job rate: 4 slots of one-second jobs, after a reconnect re-sends them all, stay far inside.
    for (const type of ["attempt.start_request", "attempt.finished"]) {
      expect(table[type]!.perSecond, type).toBeGreaterThanOrEqual(100);
      expect(table[type]!.burst, type).toBeGreaterThanOrEqual(200);
    }
    // A week of heartbeats every 4.5 s (the fastest the ±10% jitter gives) stays inside.
    const limiter = new FrameLimiter(table);
    let refused = 0;
    for (let i = 0, now = T0; i < 134_400; i++, now += 4_500) if (!limiter.allow("heartbeat", now)) refused++;
    expect(refused).toBe(0);
  });
});

describe("FrameLimiter keeps only buckets that have not refilled", () => {
  it("a session that only beats holds one bucket: hello's default bucket goes once it refilled", () => {
    const limiter = new FrameLimiter(frameLimits(5));
    expect(limiter.allow("hello", T0)).toBe(true);
    expect(limiter.size).toBe(1);
    for (let i = 1; i <= 10; i++) expect(limiter.allow("heartbeat", T0 + i * 5_000)).toBe(true);
    expect(limiter.size).toBe(1);
    expect(limiter.allow("presign.request", T0 + 51_000)).toBe(true);
    expect(limiter.size).toBe(2);
    // 5 s later the presign bucket (50 a second) has long refilled; the heartbeat bucket has not (0.4 a second).
    expect(limiter.allow("heartbeat", T0 + 56_000)).toBe(true);
    expect(limiter.size).toBe(1);
  });

  it("answers exactly as one TokenBucket per type would", () => {
    const table = { a: { burst: 3, perSecond: 2 }, b: { burst: 1, perSecond: 0.5 }, default: { burst: 2, perSecond: 1 } };
    const limiter = new FrameLimiter(table);
    const reference = new Map<string, TokenBucket>();
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    let now = T0;
    for (let i = 0; i < 20_000; i++) {
      now += random() < 0.3 ? 0 : Math.floor(random() * 900);
      const type = ["a", "b", "c", "d"][Math.floor(random() * 4)]!;
      const key = type in table ? type : "default";
      let bucket = reference.get(key);
      if (!bucket) reference.set(key, (bucket = new TokenBucket(table[key as keyof typeof table], now)));
      expect(limiter.allow(type, now), `frame ${i}`).toBe(bucket.take(now));
    }
  });

  it("a clock stepping back refills nothing (a bucket already full is new again, which is the same)", () => {
    const limiter = new FrameLimiter({ heartbeat: { burst: 2, perSecond: 1 }, default: { burst: 1, perSecond: 0 } });
    expect([limiter.allow("heartbeat", T0), limiter.allow("heartbeat", T0), limiter.allow("heartbeat", T0)]).toEqual([true, true, false]);
    expect(limiter.allow("heartbeat", T0 - 60_000)).toBe(false);
    expect(limiter.allow("heartbeat", T0 + 999)).toBe(false);
    expect(limiter.allow("heartbeat", T0 + 1000)).toBe(true);
  });
});

describe("KeyedLimiter", () => {
  it("keeps a bucket per key, drops the least recently used past its size, and says to warn at most once a minute per key", () => {
    const limiter = new KeyedLimiter({ burst: 1, perSecond: 0 }, 2);
    expect([limiter.allow("a", T0), limiter.allow("a", T0), limiter.allow("b", T0)]).toEqual([true, false, true]);
    limiter.allow("c", T0); // "a" was used least recently: dropped, so it starts full again
    expect(limiter.allow("a", T0)).toBe(true);
    expect(limiter.allow("c", T0)).toBe(false);
    expect([limiter.shouldWarn("c", T0), limiter.shouldWarn("c", T0 + 59_999), limiter.shouldWarn("c", T0 + 60_000)]).toEqual([true, false, true]);
  });

  it("prunes buckets that have refilled (the same as none), keeping those still short and those warned about in the last minute", () => {
    const limiter = new KeyedLimiter({ burst: 2, perSecond: 0.2 });
    limiter.allow("connected", T0);
    limiter.allow("looping", T0);
    limiter.allow("looping", T0);
    expect(limiter.allow("looping", T0)).toBe(false);
    expect(limiter.shouldWarn("looping", T0)).toBe(true);
    expect(limiter.prune(T0 + 4_999)).toBe(2); // one token back takes 5 s
    expect(limiter.prune(T0 + 5_000)).toBe(1); // "connected" is full again; "looping" was warned about
    expect(limiter.prune(T0 + 60_000)).toBe(0);
    // A pruned key starts full, as its bucket would be, and warns again.
    expect([limiter.allow("looping", T0 + 60_000), limiter.allow("looping", T0 + 60_000), limiter.allow("looping", T0 + 60_000)]).toEqual([true, true, false]);
    expect(limiter.shouldWarn("looping", T0 + 60_000)).toBe(true);
  });
});
