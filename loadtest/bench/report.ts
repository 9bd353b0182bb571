// Turns the runs into loadtest/results/latest.json: every headline figure is the median
// over runs, with min and max beside it, plus the per-rate detail and the machine.
import { cpus, totalmem } from "node:os";
import type { BullPacedRun, BullUnpacedRun } from "./bullmq_bench.ts";
import type { PacedRun, UnpacedRun } from "./dispatch_bench.ts";
import type { FloorRun } from "./redis_floor.ts";
import { spread, type Spread } from "./stats.ts";

/** Keys latest.json must carry at the top level, each a number (the median of its runs). */
export const REQUIRED_FIGURES = [
  "dispatch_p50_ms",
  "dispatch_p99_ms",
  "submit_to_succeeded_p99_ms",
  "bullmq_p50_ms",
  "bullmq_p99_ms",
  "redis_floor_p99_ms",
  "throughput_jobs_per_s",
  "bullmq_jobs_per_s",
  "api_submit_per_s",
  "cores",
  "memory_gb",
] as const;

/** Everything the bench measured, run by run. */
export interface BenchRuns {
  dispatch: PacedRun[];
  unpaced: UnpacedRun[];
  bullPaced: BullPacedRun[];
  bullUnpaced: BullUnpacedRun[];
  floor: FloorRun[];
}

/** How the bench was run (for the report). */
export interface BenchSettings {
  rates: number[];
  seconds: number;
  runs: number;
  /** The offered rate whose figures are the headline ones. */
  headlineRate: number;
  agents: number;
  slots: number;
  clients: number;
  unpacedJobs: number;
  succeededEvery: number;
  slotsVia: string;
  smoke: boolean;
}

/** Per offered rate: each figure's median/min/max over the runs at that rate. */
function perRate<R extends { rate: number }>(runs: R[], rates: number[], keys: (keyof R & string)[]): Record<string, Record<string, Spread | number>> {
  const out: Record<string, Record<string, Spread | number>> = {};
  for (const rate of rates) {
    const at = runs.filter((r) => r.rate === rate);
    const row: Record<string, Spread | number> = { rate };
    for (const k of keys) row[k] = spread(at.map((r) => Number(r[k])));
    out[String(rate)] = row;
  }
  return out;
}

/** The results document (latest.json). */
export function buildReport(runs: BenchRuns, s: BenchSettings, now = new Date()) {
  const headline = <R extends { rate: number }>(list: R[], key: keyof R & string) => spread(list.filter((r) => r.rate === s.headlineRate).map((r) => Number(r[key])));
  const figures = {
    dispatch_p50_ms: headline(runs.dispatch, "dispatch_p50_ms"),
    dispatch_p99_ms: headline(runs.dispatch, "dispatch_p99_ms"),
    submit_to_succeeded_p99_ms: headline(runs.dispatch, "submit_to_succeeded_p99_ms"),
    bullmq_p50_ms: headline(runs.bullPaced, "p50_ms"),
    bullmq_p99_ms: headline(runs.bullPaced, "p99_ms"),
    redis_floor_p99_ms: spread(runs.floor.map((r) => r.p99_ms)),
    throughput_jobs_per_s: spread(runs.unpaced.map((r) => r.jobs_per_s)),
    bullmq_jobs_per_s: spread(runs.bullUnpaced.map((r) => r.jobs_per_s)),
    api_submit_per_s: spread(runs.unpaced.map((r) => r.api_submit_per_s)),
  };
  const medians = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, v.median])) as Record<keyof typeof figures, number>;
  return {
    ...medians,
    cores: cpus().length,
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpu_model: cpus()[0]?.model ?? "unknown",
    node: process.version,
    at: now.toISOString(),
    settings: s,
    /** Median, min and max over the runs of each headline figure (latencies at `settings.headlineRate`). */
    figures,
    dispatch_by_rate: perRate(runs.dispatch, s.rates, ["dispatch_p50_ms", "dispatch_p99_ms", "submit_to_succeeded_p50_ms", "submit_to_succeeded_p99_ms", "finish_reported_p50_ms", "finish_reported_p99_ms", "post_p50_ms", "post_p99_ms", "not_assigned", "not_succeeded", "submit_errors"]),
    bullmq_by_rate: perRate(runs.bullPaced, s.rates, ["p50_ms", "p99_ms", "not_started"]),
    redis_floor_p50_ms: spread(runs.floor.map((r) => r.p50_ms)),
    runs,
  };
}

/** What is wrong with a results document: missing or non-numeric required figures, lost jobs. */
export function reportProblems(report: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const k of REQUIRED_FIGURES) {
    const v = report[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) problems.push(`${k} is ${JSON.stringify(v)}, not a finite number ≥ 0`);
  }
  const runs = report.runs as BenchRuns | undefined;
  for (const r of runs?.dispatch ?? []) {
    if (r.submit_errors) problems.push(`${r.submit_errors} POST /v1/jobs failed at ${r.rate}/s`);
    if (r.not_assigned) problems.push(`${r.not_assigned} jobs never reached an agent at ${r.rate}/s`);
    if (r.not_succeeded) problems.push(`${r.not_succeeded} followed jobs never reached SUCCEEDED at ${r.rate}/s`);
  }
  for (const r of runs?.unpaced ?? []) if (r.not_assigned || r.submit_errors) problems.push(`unpaced run lost jobs: ${JSON.stringify(r)}`);
  for (const r of runs?.bullPaced ?? []) if (r.not_started) problems.push(`${r.not_started} BullMQ jobs never started at ${r.rate}/s`);
  return problems;
}
