// Diagnostic: the gateway's RSS against connections, in-process, to compare V8 settings
// quickly (the bench's slope phase alone). Logs go to a file as the bench's do.
//   node [v8 flags] --import tsx loadtest/bench/connections/slope_probe.ts [max] [step]
import { rmSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { slope } from "./figures.ts";
import { gatewayInProcess } from "./gateway_in_process.ts";

// V8 flags set at run time, as a service would set them in its main (PROBE_V8_FLAGS="--optimize-for-size").
if (process.env.PROBE_V8_FLAGS) setFlagsFromString(process.env.PROBE_V8_FLAGS);
const max = Number(process.argv[2] ?? 19000);
const step = Number(process.argv[3] ?? 1000);
const logFile = join(tmpdir(), `lbslope-${process.pid}-gateway.log`);
const { fleet, urls, stop } = await gatewayInProcess("slope", max, { LB_LEASE_TTL_SECONDS: "30", LB_HEARTBEAT_SECONDS: "5", LB_LOG_LEVEL: "info" },
  pino({ level: "info" }, pino.destination({ dest: logFile, sync: false })));
const points: { x: number; y: number; heap: number }[] = [];
let held = 0;
while (held < max) {
  await fleet.connect(urls, step);
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
await stop();
rmSync(logFile, { force: true });
