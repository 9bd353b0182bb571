// What a gateway session keeps alive, without the heap's slack: a gateway in this process,
// N agents from a fleet process, and the V8 heap after a full GC before and after, per
// agent (the RSS slope of the bench also counts garbage not yet collected and the heap's
// headroom). A diagnostic for the memory target of issue 11 (at most 4,000 agents on the
// shared 2-core box); with --snapshot DIR it also writes a V8 heap snapshot before and
// after, to diff by object type (how the 830-byte uWS socket dictionary was found):
//   node --expose-gc --import tsx loadtest/bench/connections/live_heap.ts [agents] [--snapshot DIR]
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { createLogger } from "@labbridge/logging";
import { gatewayInProcess } from "./gateway_in_process.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("Run with node --expose-gc");
const args = process.argv.slice(2);
const snapshotAt = args.indexOf("--snapshot");
const snapshotDir = snapshotAt >= 0 ? args.splice(snapshotAt, 2)[1] : undefined;
if (snapshotAt >= 0 && !snapshotDir) throw new Error("--snapshot needs a folder");
const n = Number(args[0] ?? 4000);
const { fleet, urls, stop } = await gatewayInProcess("heap", n, { LB_LEASE_TTL_SECONDS: "30", LB_HEARTBEAT_SECONDS: "5", LB_LOG_LEVEL: "warn" }, createLogger("gateway", "warn"));
const live = (name: string) => {
  for (let i = 0; i < 3; i++) gc();
  const usage = process.memoryUsage();
  if (snapshotDir) console.log(`heap snapshot: ${writeHeapSnapshot(join(snapshotDir, `${name}.heapsnapshot`))}`);
  return usage;
};
// A first small step warms the code paths (JIT, pools, prepared statements) out of the figure.
await fleet.connect(urls, 200);
while ((await fleet.stats()).connected < 200) await new Promise((r) => setTimeout(r, 200));
await new Promise((r) => setTimeout(r, 2000));
const before = live("before");
await fleet.connect(urls, n - 200);
while ((await fleet.stats()).connected < n) await new Promise((r) => setTimeout(r, 200));
await new Promise((r) => setTimeout(r, 7000)); // every agent past a heartbeat
const after = live("after");
const per = (k: "heapUsed" | "external" | "arrayBuffers" | "rss") => Math.round((after[k] - before[k]) / (n - 200));
console.log(JSON.stringify({ agents: n, heap_used_per_agent: per("heapUsed"), external_per_agent: per("external"), array_buffers_per_agent: per("arrayBuffers"), rss_per_agent: per("rss") }));
await stop();
process.exit(0);
