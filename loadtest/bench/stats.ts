// Percentiles of one run's latencies, and the median/min/max that sums up several runs:
// every figure the bench reports is the median of its runs, with their spread beside it.

/** The p-th percentile (0..100) of `values` by the nearest-rank method; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

/** One figure over several runs: the median, the smallest and largest run, and each run. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** Sums up one figure's runs (the median of an even count is the mean of the middle two). */
export function spread(runs: readonly number[]): Spread {
  if (runs.length === 0) return { median: NaN, min: NaN, max: NaN, runs: [] };
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round(median), min: round(sorted[0]!), max: round(sorted.at(-1)!), runs: runs.map(round) };
}

/** Rounds to two decimals for the report (latencies in ms, rates per second). */
export function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : x;
}

/** Latencies from start times and end times matched by key; keys with no end are counted as missing. */
export function matchLatencies(starts: ReadonlyMap<string, number>, ends: ReadonlyMap<string, number>): { latencies: number[]; missing: number } {
  const latencies: number[] = [];
  let missing = 0;
  for (const [key, t0] of starts) {
    const t1 = ends.get(key);
    if (t1 === undefined) missing++;
    else latencies.push(t1 - t0);
  }
  return { latencies, missing };
}
