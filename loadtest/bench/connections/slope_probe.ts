// Diagnostic: the gateway's RSS against connections, in-process, to compare V8 settings
// quickly (the bench's slope phase alone). Logs go to a file as the bench's do.
//   node [v8 flags] --import tsx loadtest/bench/connections/slope_probe.ts [max] [step]
import { rmSync, writeFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startGateway } from "@labbridge/gateway";
import { createPool, provisionAgents } from "@labbridge/store";
import { createTestEnv } from "@labbridge/devstack";
import { Fleet } from "./fleet.ts";
import { slope } from "./figures.ts";

// V8 flags set at run time, as a service would set them in its main (PROBE_V8_FLAGS="--optimize-for-size").
if (process.env.PROBE_V8_FLAGS) setFlagsFromString(process.env.PROBE_V8_FLAGS);
const max = Number(process.argv[2] ?? 19000);
const step = Number(process.argv[3] ?? 1000);
const env = await createTestEnv({ LB_LEASE_TTL_SECONDS: "30", LB_HEARTBEAT_SECONDS: "5", LB_LOG_LEVEL: "info" }, "lbslope");
const pool = createPool(env.config.mysqlUrl);
const creds = await provisionAgents(pool, { count: max, namePrefix: "slope", os: "linux", labels: {}, now: new Date() });
const file = join(tmpdir(), `${env.config.prefix}-creds.json`);
writeFileSync(file, JSON.stringify(creds.map((c) => ({ agent_id: c.agentId, name: c.name, credential: c.credential }))));
const logFile = join(tmpdir(), `${env.config.prefix}-gateway.log`);
const gw = await startGateway(env.config, { log: pino({ level: "info" }, pino.destination({ dest: logFile, sync: false })) });
const fleet = await Fleet.start(file, max);
const points: { x: number; y: number; heap: number }[] = [];
let held = 0;
while (held < max) {
  await fleet.connect([`ws://127.0.0.1:${gw.port}`], step);
  held += step;
  while ((await fleet.stats()).welcomed < held) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000));
  const m = process.memoryUsage();
  points.push({ x: held, y: m.rss, heap: m.heapUsed });
}
console.log(JSON.stringify({
  flags: process.execArgv.filter((a) => a.startsWith("--") && a !== "--import"), runtime_flags: process.env.PROBE_V8_FLAGS ?? "",
  rss_slope_per_agent: Math.round(slope(points)),
  rss_mb: points.map((p) => Math.round(p.y / 2 ** 20)),
  heap_mb: points.map((p) => Math.round(p.heap / 2 ** 20)),
}));
await fleet.stop();
await gw.close();
await pool.end();
await env.cleanup();
rmSync(file, { force: true });
rmSync(logFile, { force: true });
