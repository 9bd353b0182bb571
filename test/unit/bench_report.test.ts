import { describe, expect, it } from "vitest";
import { buildReport, reportProblems, REQUIRED_FIGURES, type BenchRuns, type BenchSettings } from "../../loadtest/bench/report.ts";
import type { PacedRun } from "../../loadtest/bench/dispatch_bench.ts";

// latest.json: headline figures are medians over runs at the headline rate, with min and
// max, and a document missing a figure or having lost jobs is called out.

const settings: BenchSettings = { rates: [20, 50], seconds: 5, runs: 3, headlineRate: 50, agents: 8, slots: 100, clients: 32, unpacedJobs: 1000, succeededEvery: 2, slotsVia: "mysql", smoke: false };

function paced(rate: number, p50: number, extra: Partial<PacedRun> = {}): PacedRun {
  return {
    rate, seconds: 5, submitted: rate * 5, submit_errors: 0, dispatch_p50_ms: p50, dispatch_p99_ms: p50 * 3, not_assigned: 0,
    submit_to_succeeded_p50_ms: p50 * 2, submit_to_succeeded_p99_ms: p50 * 4, finish_reported_p50_ms: p50, finish_reported_p99_ms: p50 * 3, succeeded_sampled: rate, not_succeeded: 0, post_p50_ms: 5, post_p99_ms: 9, ...extra,
  };
}

function runs(): BenchRuns {
  return {
    dispatch: [paced(20, 1), paced(50, 30), paced(20, 2), paced(50, 10), paced(20, 3), paced(50, 20)],
    unpaced: [100, 300, 200].map((n) => ({ jobs: 1000, clients: 32, submit_errors: 0, jobs_per_s: n, api_submit_per_s: n * 5, not_assigned: 0 })),
    bullPaced: [20, 50].map((rate) => ({ rate, seconds: 5, jobs: rate * 5, p50_ms: 1, p99_ms: 4, not_started: 0 })),
    bullUnpaced: [{ jobs: 1000, clients: 32, jobs_per_s: 4000 }],
    floor: [0.2, 0.1, 0.3].map((p99) => ({ messages: 2000, p50_ms: 0.05, p99_ms: p99 })),
  };
}

describe("buildReport", () => {
  it("reports each headline figure as the median of its runs at the headline rate, with min and max beside it", () => {
    const r = buildReport(runs(), settings);
    expect(r.dispatch_p50_ms).toBe(20);
    expect(r.figures.dispatch_p50_ms).toMatchObject({ median: 20, min: 10, max: 30 });
    expect(r.dispatch_p99_ms).toBe(60);
    expect(r.throughput_jobs_per_s).toBe(200);
    expect(r.api_submit_per_s).toBe(1000);
    expect(r.redis_floor_p99_ms).toBe(0.2);
  });

  it("keeps the per-rate detail for every offered rate", () => {
    const r = buildReport(runs(), settings);
    expect(r.dispatch_by_rate["20"]!.dispatch_p50_ms).toMatchObject({ median: 2, min: 1, max: 3 });
    expect(Object.keys(r.bullmq_by_rate)).toEqual(["20", "50"]);
  });

  it("carries every required figure as a number, the machine's cores and memory included", () => {
    const r = buildReport(runs(), settings) as unknown as Record<string, unknown>;
    for (const k of REQUIRED_FIGURES) expect(typeof r[k], k).toBe("number");
    expect(reportProblems(r)).toEqual([]);
  });
});

describe("reportProblems", () => {
  it("names a figure that is missing and jobs that never reached an agent", () => {
    const lost = runs();
    lost.dispatch[1] = paced(50, 30, { not_assigned: 3 });
    const r = buildReport(lost, settings) as unknown as Record<string, unknown>;
    delete r.bullmq_jobs_per_s;
    const problems = reportProblems(r);
    expect(problems).toContain("3 jobs never reached an agent at 50/s");
    expect(problems.some((p) => p.startsWith("bullmq_jobs_per_s"))).toBe(true);
  });
});
