// Cross-check of the bench's welcome → ONLINE figure from the services' own logs: for
// every session, the gateway's "agent connected" line (written once its hello appended
// agent.online, just after the welcome) against the scheduler's "agent ONLINE" line for the
// same session (written once MySQL committed it). Both on this machine's clock. Sessions
// are split into phases wherever no session started for `gap` seconds (the cold start and
// the storm are a minute apart).
//   npx tsx loadtest/bench/connections/lag_from_logs.ts <log dir of --conn-logs> [gap s]
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { percentile, round } from "../stats.ts";

const dir = process.argv[2];
if (!dir) throw new Error("Usage: lag_from_logs.ts <log dir> [gap seconds]");
const gapMs = 1000 * Number(process.argv[3] ?? 20);

/** `msg` lines of some log files as (session id → first time, ms). */
function firstTimes(files: string[], msg: string): Map<string, number> {
  const at = new Map<string, number>();
  for (const f of files) {
    for (const line of readFileSync(join(dir!, f), "utf8").split("\n")) {
      if (!line.includes(`"msg":"${msg}"`)) continue;
      const entry = JSON.parse(line) as { time: string; session_id?: string };
      if (entry.session_id && !at.has(entry.session_id)) at.set(entry.session_id, Date.parse(entry.time));
    }
  }
  return at;
}

const files = readdirSync(dir);
const connected = firstTimes(files.filter((f) => f.startsWith("gateway")), "agent connected");
const online = firstTimes(files.filter((f) => f.startsWith("scheduler")), "agent ONLINE");
const sessions = [...connected].filter(([id]) => online.has(id)).map(([id, t]) => ({ t, lag: online.get(id)! - t })).sort((a, b) => a.t - b.t);
const phases: { t: number; lag: number }[][] = [];
for (const s of sessions) {
  const current = phases.at(-1);
  if (current && s.t - current.at(-1)!.t < gapMs) current.push(s);
  else phases.push([s]);
}
for (const [i, p] of phases.entries()) {
  const lags = p.map((s) => s.lag);
  console.log(JSON.stringify({
    phase: i, sessions: p.length, from: new Date(p[0]!.t).toISOString(),
    lag_p50_s: round(percentile(lags, 50) / 1000), lag_p99_s: round(percentile(lags, 99) / 1000), lag_max_s: round(Math.max(...lags) / 1000),
  }));
}
console.log(JSON.stringify({ sessions_connected: connected.size, never_online: connected.size - sessions.length }));
