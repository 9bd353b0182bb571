// `npm run bench` / `npm run bench:smoke`: LabBridge's dispatch latency and throughput,
// side by side with BullMQ and the raw Redis Streams floor, and its connection scale
// (100,000 agents over several gateways, beside a plain `ws` server and bare uWS), on the
// real services, Redis and MySQL. Writes the results JSON (and, for a full run, the plots
// in docs/).
//
//   npx tsx loadtest/bench/main.ts [--smoke] [--only dispatch|connections] [--out FILE]
//     [--runs 3] [--rates 20,50,100,200] [--seconds 5] [--headline 50] [--agents 8]
//     [--slots 100] [--clients 32] [--jobs 1000]
//     [--conn-agents 100000] [--conn-slope-max 19000] [--conn-gateways N] [--conn-hold 60]
//     [--conn-settle 300]  (longest wait for all ONLINE; past it the figure is "not reached")
//     [--conn-logs DIR]    (keep every service's log there)
//
// --smoke: a few seconds (the connection part with a few thousand agents), small numbers,
// results to a temp file (never latest.json); exits non-zero if any figure is missing or
// any job was lost. --only runs one part; its figures replace that part's in the results
// file and the other part's are kept.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { deleteKeys, ROOT, TEST_REDIS_URL } from "@labbridge/devstack";
import { startBenchBridge } from "./bench_bridge.ts";
import { BullBench } from "./bullmq_bench.ts";
import { pacedDispatchRun, settle, unpacedDispatchRun } from "./dispatch_bench.ts";
import { plotSvg, svgToPng } from "./plot.ts";
import { redisFloorRun } from "./redis_floor.ts";
import { buildReport, reportProblems, type BenchRuns, type BenchSettings } from "./report.ts";
import { connectionBench, type ConnectionSettings } from "./connections/connection_bench.ts";
import { CONNECTION_FIGURES, connectionProblems, connectionReport } from "./connections/connection_report.ts";
import { rssPlotSvg } from "./connections/rss_plot.ts";

const { values: a } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    out: { type: "string" },
    plot: { type: "string" },
    runs: { type: "string" },
    rates: { type: "string" },
    seconds: { type: "string" },
    headline: { type: "string" },
    agents: { type: "string" },
    slots: { type: "string" },
    clients: { type: "string" },
    jobs: { type: "string" },
    only: { type: "string" },
    "conn-agents": { type: "string" },
    "conn-slope-max": { type: "string" },
    "conn-gateways": { type: "string" },
    "conn-hold": { type: "string" },
    "conn-settle": { type: "string" },
    "conn-logs": { type: "string" },
  },
});
if (a.only && a.only !== "dispatch" && a.only !== "connections") throw new Error(`Invalid --only "${a.only}": expected dispatch or connections`);
const runDispatch = a.only !== "connections";
const runConnections = a.only !== "dispatch";
const smoke = a.smoke!;
const rates = (a.rates ?? (smoke ? "10,30" : "20,50,100,200")).split(",").map(Number);
const settings: BenchSettings = {
  rates,
  seconds: Number(a.seconds ?? (smoke ? 1 : 5)),
  runs: Number(a.runs ?? (smoke ? 1 : 3)),
  headlineRate: Number(a.headline ?? (smoke ? rates[0] : 50)),
  agents: Number(a.agents ?? (smoke ? 2 : 8)),
  slots: Number(a.slots ?? (smoke ? 50 : 100)),
  clients: Number(a.clients ?? (smoke ? 8 : 32)),
  unpacedJobs: Number(a.jobs ?? (smoke ? 40 : 1000)),
  succeededEvery: smoke ? 1 : 2,
  slotsVia: "",
  smoke,
};
if (!rates.includes(settings.headlineRate)) throw new Error(`--headline ${settings.headlineRate} is not one of --rates ${rates.join(",")}`);
const out = a.out ?? (smoke ? join(tmpdir(), `lb-bench-smoke-${process.pid}.json`) : join(ROOT, "loadtest/results/latest.json"));
const plotPath = a.plot ?? (smoke ? null : join(ROOT, "docs/performance-dispatch.png"));
const drainMs = smoke ? 30_000 : 180_000;
const floorMessages = smoke ? 200 : 2000;
const say = (msg: string, extra: unknown = "") => process.stderr.write(`bench: ${msg} ${extra ? JSON.stringify(extra) : ""}\n`);

const runs: BenchRuns = { dispatch: [], unpaced: [], bullPaced: [], bullUnpaced: [], floor: [] };

if (runDispatch) {
  // ---- LabBridge ----
  say(`starting services and ${settings.agents} fake agents × ${settings.slots} slots`);
  const b = await startBenchBridge({ agents: settings.agents, slots: settings.slots });
  settings.slotsVia = b.slotsVia;
  try {
    // Warm-up, not counted: first requests pay for JIT, pools and prepared statements.
    await pacedDispatchRun(b, 10, 1, { succeededEvery: 1, drainMs });
    // Before every run, the previous one's jobs are all over, so no run queues behind another's.
    const settled = async () => {
      if (!(await settle(b, drainMs))) throw new Error(`jobs still unfinished ${drainMs} ms after a run`);
    };
    await settled();
    for (let run = 1; run <= settings.runs; run++) {
      for (const rate of rates) {
        const r = await pacedDispatchRun(b, rate, settings.seconds, { succeededEvery: settings.succeededEvery, drainMs });
        runs.dispatch.push(r);
        await settled();
        say(`labbridge paced run ${run} at ${rate}/s`, r);
      }
      const u = await unpacedDispatchRun(b, settings.unpacedJobs, settings.clients, drainMs);
      runs.unpaced.push(u);
      await settled();
      say(`labbridge unpaced run ${run}`, u);
    }
    const agentErrors = b.agents.reduce((n, x) => n + x.stats.errors + x.stats.refused, 0);
    if (agentErrors) say(`fake agents saw ${agentErrors} error frames or refused reports`);
  } finally {
    await b.stop();
  }

  // ---- BullMQ and the raw floor, on the same Redis under their own prefix ----
  const prefix = `lbbench-${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  try {
    const bull = await BullBench.open(TEST_REDIS_URL, `${prefix}:bull`, settings.slots * settings.agents);
    try {
      await bull.pacedRun(10, 1, drainMs); // warm-up
      for (let run = 1; run <= settings.runs; run++) {
        for (const rate of rates) {
          const r = await bull.pacedRun(rate, settings.seconds, drainMs);
          runs.bullPaced.push(r);
          say(`bullmq paced run ${run} at ${rate}/s`, r);
        }
        const u = await bull.unpacedRun(settings.unpacedJobs, settings.clients, drainMs);
        runs.bullUnpaced.push(u);
        say(`bullmq unpaced run ${run}`, u);
      }
    } finally {
      await bull.close();
    }
    for (let run = 1; run <= settings.runs; run++) {
      const f = await redisFloorRun(TEST_REDIS_URL, `${prefix}:floor`, floorMessages);
      runs.floor.push(f);
      say(`redis floor run ${run}`, f);
    }
  } finally {
    await deleteKeys(TEST_REDIS_URL, prefix);
  }
}

// ---- Connection scale ----
const connSmoke = smoke;
const connAgents = Number(a["conn-agents"] ?? (connSmoke ? 1200 : 100_000));
const connSettings: ConnectionSettings = {
  agents: connAgents,
  slopeMax: Number(a["conn-slope-max"] ?? Math.min(connAgents, connSmoke ? 600 : 19_000)),
  slopeStep: connSmoke ? 300 : 1000,
  // Each gateway holds at most MAX_AGENTS_PER_GATEWAY (19,000) here; agents pick one at random, so leave room.
  gateways: Number(a["conn-gateways"] ?? Math.max(2, Math.ceil(connAgents / 16_000))),
  // Four idle heartbeats, so every agent's share of the wire is counted over whole intervals.
  holdSeconds: Number(a["conn-hold"] ?? (connSmoke ? 4 : 60)),
  // The smoke run shrinks the heartbeats so its hold sees every agent beat; the full run uses production timing.
  heartbeatSeconds: connSmoke ? 0.5 : 5,
  idleHeartbeatSeconds: connSmoke ? 1 : 15,
  settleSeconds: Number(a["conn-settle"] ?? 300),
  logDir: a["conn-logs"],
  jobs: connSmoke ? 3 : 50,
  smoke: connSmoke,
};
const connections = runConnections ? await connectionBench(connSettings) : null;
if (connections) say("connection figures", Object.fromEntries(CONNECTION_FIGURES.map((k) => [k, connections[k]])));

const previous = existsSync(out) && !smoke ? (JSON.parse(readFileSync(out, "utf8")) as Record<string, unknown>) : {};
const report: Record<string, unknown> = runDispatch ? { ...previous, ...buildReport(runs, settings) } : { ...previous };
if (connections) Object.assign(report, connectionReport(connections));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
say(`results written to ${out}`);
if (plotPath && runDispatch) {
  const dispatchRows = report.dispatch_by_rate as Record<string, Record<string, unknown>>;
  const bullRows = report.bullmq_by_rate as Record<string, Record<string, unknown>>;
  const med = (rows: Record<string, Record<string, unknown>>, k: string) => rates.map((x) => ({ x, y: (rows[String(x)]![k] as { median: number }).median }));
  const svg = plotSvg("Submit → assignment at the agent, by offered rate", [
    { name: "LabBridge p50", color: "#1f77b4", points: med(dispatchRows, "dispatch_p50_ms") },
    { name: "LabBridge p99", color: "#d62728", points: med(dispatchRows, "dispatch_p99_ms") },
    { name: "BullMQ p50", color: "#1f77b4", dashed: true, points: med(bullRows, "p50_ms") },
    { name: "BullMQ p99", color: "#d62728", dashed: true, points: med(bullRows, "p99_ms") },
  ]);
  writeFileSync(plotPath, svgToPng(svg));
  say(`plot written to ${plotPath}`);
}
if (connections && !smoke) {
  const rssPlot = join(ROOT, "docs/performance-connections.png");
  writeFileSync(rssPlot, svgToPng(rssPlotSvg(connections)));
  say(`plot written to ${rssPlot}`);
}
const headlineKeys = [
  ...(runDispatch ? ["dispatch_p50_ms", "dispatch_p99_ms", "submit_to_succeeded_p99_ms", "bullmq_p50_ms", "bullmq_p99_ms", "redis_floor_p99_ms", "throughput_jobs_per_s", "bullmq_jobs_per_s", "api_submit_per_s"] : []),
  ...(connections ? CONNECTION_FIGURES : []),
];
console.log(JSON.stringify(Object.fromEntries(headlineKeys.map((k) => [k, report[k]])), null, 2));
const problems = [...(runDispatch ? reportProblems(report) : []), ...(connections ? connectionProblems(report, { smoke }) : [])];
if (problems.length) {
  say("problems:\n  " + problems.join("\n  "));
  process.exit(1);
}
process.exit(0);
