// The connection part of loadtest/results/latest.json: the figures issue 11 names at the
// top level, the targets beside them with whether each was met, and the detail.
import type { ConnectionResults } from "./connection_bench.ts";

/** Top-level keys the connection part must give, each a finite number ≥ 0. */
export const CONNECTION_FIGURES = [
  "agents_connected",
  "gateway_rss_bytes_per_agent",
  "ws_baseline_rss_bytes_per_agent",
  "reconnect_storm_s",
  "online_lag_p99_s",
  "idle_agent_wire_bytes_per_s",
  "control_bytes_per_job",
] as const;

/** The targets of issue 11 on this machine: figure, limit, and what it means. */
export const CONNECTION_TARGETS = [
  { figure: "gateway_rss_bytes_per_agent", max: 2048, what: "≤ 2 KB of gateway memory per agent" },
  { figure: "reconnect_storm_s", max: 30, what: "all ONLINE within 30 s of a reconnect storm" },
  { figure: "online_lag_p99_s", max: 5, what: "ONLINE within 5 s of welcome" },
  { figure: "idle_agent_wire_bytes_per_s", max: 20, what: "≤ 20 B/s on the wire per idle agent" },
  { figure: "control_bytes_per_job", max: 4096, what: "≤ 4 KB of control traffic per job" },
] as const;

/** How many agents one gateway holds where the open-file limit is raised, from the slope, in a given memory. */
export function agentsPerGateway(bytesPerAgent: number, memoryBytes: number): number {
  return bytesPerAgent > 0 ? Math.floor(memoryBytes / bytesPerAgent) : NaN;
}

/** The connection keys of latest.json. */
export function connectionReport(r: ConnectionResults) {
  const top = Object.fromEntries(CONNECTION_FIGURES.map((k) => [k, r[k]]));
  return {
    ...top,
    connection_targets: CONNECTION_TARGETS.map((t) => ({ ...t, value: r[t.figure], met: r[t.figure] <= t.max })),
    connections: r,
  };
}

/** Slopes of RSS against connections: at a smoke run's few hundred agents they sit inside the RSS noise. */
const RSS_SLOPES: readonly string[] = ["gateway_rss_bytes_per_agent", "ws_baseline_rss_bytes_per_agent"];

/**
 * What is wrong with the connection part of a results document: missing figures, agents
 * that never connected. In a smoke run (`smoke`) the RSS slopes must only be finite: a few
 * hundred agents' 2 KB each are less than the megabytes a heap grows or gives back between
 * two samples (the gateway's memory-saving V8 gives pages back), so their sign says nothing.
 */
export function connectionProblems(report: Record<string, unknown>, opts: { smoke?: boolean } = {}): string[] {
  const problems: string[] = [];
  for (const k of CONNECTION_FIGURES) {
    const v = report[k];
    const mayBeNegative = opts.smoke === true && RSS_SLOPES.includes(k);
    if (typeof v !== "number" || !Number.isFinite(v) || (v < 0 && !mayBeNegative)) {
      problems.push(`${k} is ${JSON.stringify(v)}, not a finite number${mayBeNegative ? "" : " ≥ 0"}`);
    }
  }
  const c = report.connections as ConnectionResults | undefined;
  if (c && c.agents_connected < c.settings.agents) problems.push(`only ${c.agents_connected} of ${c.settings.agents} agents were connected during the hold`);
  return problems;
}
