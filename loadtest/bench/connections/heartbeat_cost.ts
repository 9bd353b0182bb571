// What the heartbeat path costs the gateway: a gateway in this process, N idle agents from
// a fleet process beating every second, and over a fixed window the gateway's CPU time
// (process.cpuUsage) and the JS heap it allocated (bytes every GC freed plus the change in
// heap in use, from v8.GCProfiler). A diagnostic for issue 11 (decision 0028):
//   node --import tsx loadtest/bench/connections/heartbeat_cost.ts [agents] [seconds]
// HB_COST_PROFILE=<file> also writes a CPU profile of the window (.cpuprofile, for Chrome DevTools).
import { writeFileSync } from "node:fs";
import { GCProfiler } from "node:v8";
import { Session } from "node:inspector/promises";
import { createLogger } from "@labbridge/logging";
import { gatewayInProcess } from "./gateway_in_process.ts";

const n = Number(process.argv[2] ?? 3000);
const seconds = Number(process.argv[3] ?? 30);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// One interval for idle and busy agents alike, so the load is n heartbeats a second whichever the gateway announces.
const { fleet, urls, stop } = await gatewayInProcess("hbcost", n, {
  LB_LEASE_TTL_SECONDS: "30", LB_HEARTBEAT_SECONDS: "1", LB_IDLE_HEARTBEAT_SECONDS: "1", LB_LOG_LEVEL: "warn",
}, createLogger("gateway", "warn"));
await fleet.connect(urls, n);
while ((await fleet.stats()).welcomed < n) await sleep(200);
await sleep(5000); // past the hello storm and every agent's first heartbeats
await fleet.stats(true);
const profileFile = process.env.HB_COST_PROFILE;
const inspector = profileFile ? new Session() : null;
if (inspector) {
  inspector.connect();
  await inspector.post("Profiler.enable");
  await inspector.post("Profiler.start");
}
const profiler = new GCProfiler();
profiler.start();
const heapBefore = process.memoryUsage().heapUsed;
const cpuBefore = process.cpuUsage();
await sleep(seconds * 1000);
const cpu = process.cpuUsage(cpuBefore);
const heapAfter = process.memoryUsage().heapUsed;
const gcs = profiler.stop()?.statistics ?? [];
if (inspector) writeFileSync(profileFile!, JSON.stringify((await inspector.post("Profiler.stop")).profile));
const stats = await fleet.stats();
const freed = gcs.reduce((sum, g) => sum + (g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize), 0);
const allocated = freed + heapAfter - heapBefore;
const rtts = stats.rtts.sort((a, b) => a - b);
const heartbeats = stats.framesOut;
console.log(JSON.stringify({
  agents: n, seconds, heartbeats, acks_per_heartbeat: +(stats.framesIn / Math.max(1, heartbeats)).toFixed(3),
  cpu_ms: Math.round((cpu.user + cpu.system) / 1000), cpu_us_per_heartbeat: +((cpu.user + cpu.system) / heartbeats).toFixed(1),
  allocated_mb: +(allocated / 2 ** 20).toFixed(1), allocated_bytes_per_heartbeat: Math.round(allocated / heartbeats), gcs: gcs.length,
  rtt_p50_ms: rtts[Math.floor(rtts.length / 2)], rtt_p99_ms: rtts[Math.floor(rtts.length * 0.99)], closes: stats.closes,
}));
await stop();
process.exit(0);
