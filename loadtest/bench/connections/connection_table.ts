// Prints the connection tables of docs/PERFORMANCE.md from a results file, so the document
// and latest.json never disagree:  npx tsx loadtest/bench/connections/connection_table.ts [loadtest/results/latest.json]
import { readFileSync } from "node:fs";
import type { ConnectionResults } from "./connection_bench.ts";
import { agentsPerGateway, CONNECTION_TARGETS } from "./connection_report.ts";

const file = process.argv[2] ?? "loadtest/results/latest.json";
const r = JSON.parse(readFileSync(file, "utf8")) as { connections?: ConnectionResults };
const c = r.connections;
if (!c) throw new Error(`No connection figures in "${file}": run npm run bench:connections first`);

const kb = (b: number) => `${(b / 1024).toFixed(2)} KB`;
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
const lines: string[] = [];
const s = c.settings;
lines.push(`${s.agents} agents over ${s.gateways} gateways; slope on one gateway from ${s.slopeStep} to ${s.slopeMax} agents; heartbeat ${s.heartbeatSeconds} s (idle agents: ${s.idleHeartbeatSeconds ?? s.heartbeatSeconds} s); hold ${s.holdSeconds} s.`, "");
lines.push("| server | RSS per connection (slope) | RSS at the largest step |", "|---|---|---|");
const last = (p: { rss: number }[]) => (p.length ? mb(p.at(-1)!.rss) : "–");
lines.push(`| LabBridge gateway (uWS + sessions) | ${kb(c.gateway_rss_bytes_per_agent)} (V8 heap: ${kb(c.gateway_heap_bytes_per_agent)}) | ${last(c.gateway_rss_points)} |`);
lines.push(`| plain \`ws\` server (hello → welcome, heartbeat → ack) | ${kb(c.ws_baseline_rss_bytes_per_agent)} | ${last(c.ws_rss_points)} |`);
lines.push(`| bare uWS (the floor) | ${kb(c.uws_floor_rss_bytes_per_agent)} | ${last(c.uws_rss_points)} |`);
lines.push("", "| figure | value |", "|---|---|");
const rows: [string, string][] = [
  ["agents connected during the hold", String(c.agents_connected)],
  [`gateway RSS over all ${s.gateways} gateways at ${c.agents_connected} agents`, `${mb(c.gateway_rss_total_bytes)} (${kb(c.gateway_rss_total_bytes / Math.max(1, c.agents_connected))} per agent, bases included)`],
  ["agents one gateway holds per GB of RSS beyond its base, where the open-file limit is raised (from the slope)", String(agentsPerGateway(c.gateway_rss_bytes_per_agent, 2 ** 30))],
  ["cold start: connect → all welcomed (s)", String(c.cold_start_all_welcomed_s)],
  ["cold start: connect → all ONLINE in MySQL (s)", String(c.cold_start_all_online_s)],
  ["reconnect storm: every socket cut → all ONLINE again (s)", String(c.reconnect_storm_s)],
  ["welcome → ONLINE in MySQL, p99 (s; cold start / storm)", `${c.cold_start_online_lag_p99_s} / ${c.storm_online_lag_p99_s}`],
  ["heartbeat → ack under load, p50 / p99 (ms)", `${c.heartbeat_rtt_p50_ms} / ${c.heartbeat_rtt_p99_ms}`],
  ["idle agent, WebSocket payload (B/s)", String(c.idle_agent_payload_bytes_per_s)],
  ["idle agent, on the wire with TLS and TCP/IP framing (B/s, estimate)", String(c.idle_agent_wire_bytes_per_s)],
  ["control traffic per job, payload / with framing (B)", `${c.control.payload_bytes_per_job} / ${c.control.wire_bytes_per_job}`],
  ["retry hints given (1013) / failed connects", `${c.retry_hints} / ${c.connect_errors}`],
];
for (const [k, v] of rows) lines.push(`| ${k} | ${v} |`);
lines.push("", "| target | value | met |", "|---|---|---|");
for (const t of CONNECTION_TARGETS) lines.push(`| ${t.what} | ${c[t.figure]} | ${c[t.figure] <= t.max ? "yes" : "**no**"} |`);
console.log(lines.join("\n"));
