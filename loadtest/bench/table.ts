// Prints the tables of docs/PERFORMANCE.md from a results file, so the document and
// latest.json never disagree:  npx tsx loadtest/bench/table.ts [loadtest/results/latest.json]
import { readFileSync } from "node:fs";
import type { Spread } from "./stats.ts";

type Row = Record<string, Spread | number>;
const file = process.argv[2] ?? "loadtest/results/latest.json";
const r = JSON.parse(readFileSync(file, "utf8")) as {
  figures: Record<string, Spread>;
  dispatch_by_rate: Record<string, Row>;
  bullmq_by_rate: Record<string, Row>;
  settings: { headlineRate: number; clients: number };
  cores: number;
  memory_gb: number;
  cpu_model: string;
  node: string;
  at: string;
};

/** "median (min–max)" of one figure. */
const f = (s: Spread | number | undefined) => (typeof s === "object" && s ? `${s.median} (${s.min}–${s.max})` : String(s ?? "–"));

const label: Record<string, string> = {
  dispatch_p50_ms: `LabBridge submit → attempt.assign at the agent, p50 (ms, at ${r.settings.headlineRate} jobs/s)`,
  dispatch_p99_ms: `LabBridge submit → attempt.assign at the agent, p99 (ms, at ${r.settings.headlineRate} jobs/s)`,
  submit_to_succeeded_p99_ms: `LabBridge submit → SUCCEEDED (SSE), p99 (ms, at ${r.settings.headlineRate} jobs/s)`,
  bullmq_p50_ms: `BullMQ queue.add → worker start, p50 (ms, at ${r.settings.headlineRate} jobs/s)`,
  bullmq_p99_ms: `BullMQ queue.add → worker start, p99 (ms, at ${r.settings.headlineRate} jobs/s)`,
  redis_floor_p99_ms: "Redis XADD → blocked XREADGROUP, p99 (ms)",
  throughput_jobs_per_s: `LabBridge unpaced, submit → assigned (jobs/s, ${r.settings.clients} clients)`,
  bullmq_jobs_per_s: `BullMQ unpaced, add → started (jobs/s, ${r.settings.clients} clients)`,
  api_submit_per_s: `POST /v1/jobs answered (per s, ${r.settings.clients} clients)`,
};
const lines: string[] = [];
lines.push(`Machine: ${r.cores} cores (${r.cpu_model}), ${r.memory_gb} GB, Node ${r.node}; run ${r.at}.`, "");
lines.push("| figure | median (min–max) of runs |", "|---|---|");
for (const [k, name] of Object.entries(label)) lines.push(`| ${name} | ${f(r.figures[k])} |`);
lines.push("", "Per offered rate (median (min–max) of runs, ms):", "");
lines.push("| offered jobs/s | LabBridge dispatch p50 | p99 | submit → SUCCEEDED p50 | p99 | submit → finish reported p50 | p99 | POST p99 | BullMQ p50 | p99 |", "|---|---|---|---|---|---|---|---|---|---|");
for (const [rate, d] of Object.entries(r.dispatch_by_rate)) {
  const q = r.bullmq_by_rate[rate] ?? {};
  lines.push(`| ${rate} | ${f(d.dispatch_p50_ms)} | ${f(d.dispatch_p99_ms)} | ${f(d.submit_to_succeeded_p50_ms)} | ${f(d.submit_to_succeeded_p99_ms)} | ${f(d.finish_reported_p50_ms)} | ${f(d.finish_reported_p99_ms)} | ${f(d.post_p99_ms)} | ${f(q.p50_ms)} | ${f(q.p99_ms)} |`);
}
console.log(lines.join("\n"));
