import { describe, expect, it } from "vitest";
import { matchLatencies, percentile, spread } from "../../loadtest/bench/stats.ts";

// The bench's arithmetic: nearest-rank percentiles of one run, and the median/min/max
// over runs that every reported figure is.

const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("percentile", () => {
  it("takes the nearest rank: p50 of 1..100 is 50, p99 is 99, p100 is the largest", () => {
    const shuffled = oneTo(100).reverse();
    expect([percentile(shuffled, 50), percentile(shuffled, 99), percentile(shuffled, 100)]).toEqual([50, 99, 100]);
  });

  it("gives the largest sample as p99 when there are fewer than a hundred, and the smallest as p0", () => {
    expect(percentile([5, 1, 9, 3], 99)).toBe(9);
    expect(percentile([5, 1, 9, 3], 0)).toBe(1);
  });

  it("is NaN for no samples and leaves its input unsorted", () => {
    const input = [3, 1, 2];
    expect(percentile([], 50)).toBeNaN();
    percentile(input, 50);
    expect(input).toEqual([3, 1, 2]);
  });
});

describe("spread", () => {
  it("reports the median, min and max of an odd number of runs, and each run in order", () => {
    expect(spread([30, 10, 20])).toEqual({ median: 20, min: 10, max: 30, runs: [30, 10, 20] });
  });

  it("takes the mean of the middle two as the median of an even number of runs", () => {
    expect(spread([4, 1, 3, 2]).median).toBe(2.5);
  });

  it("rounds to two decimals", () => {
    expect(spread([1.23456]).median).toBe(1.23);
  });
});

describe("matchLatencies", () => {
  it("subtracts each start from its end by key and counts starts with no end as missing", () => {
    const starts = new Map([["a", 10], ["b", 20], ["c", 30]]);
    const ends = new Map([["a", 15], ["c", 42], ["z", 99]]);
    expect(matchLatencies(starts, ends)).toEqual({ latencies: [5, 12], missing: 1 });
  });
});
