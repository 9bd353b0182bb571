// What 500 attempted event streams from one user cost the API process: its RSS before and
// after, with the per-user cap (LB_API_EVENT_STREAMS_PER_USER, default 20) and without
// one (a cap no client reaches, as before the cap existed).
//   npx tsx loadtest/sse_streams.ts [--streams 500]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createTestEnv, freePort, GENEROUS_API_LIMITS } from "@labbridge/devstack";

const { values } = parseArgs({ options: { streams: { type: "string", default: "500" } } });
const STREAMS = Number(values.streams);
const ROOT = join(import.meta.dirname, "..");

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

// `plain` sends the same 500 requests as GET /v1/jobs/{id}: what handling 500 requests at
// once costs by itself, streams or not.
async function run(cap: string, plain = false): Promise<Record<string, number | string>> {
  const port = await freePort();
  const env = await createTestEnv({ LB_API_PORT: String(port), LB_LOG_LEVEL: "warn", ...GENEROUS_API_LIMITS, LB_API_EVENT_STREAMS_PER_USER: cap });
  const api = spawn(process.execPath, ["--import", "tsx", "services/api/src/main.ts"], { cwd: ROOT, env: { ...process.env, ...env.env }, stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  const auth = { authorization: `Bearer ${env.config.adminToken}` };
  try {
    for (let i = 0; i < 200; i++) {
      if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const job = (await (await fetch(`${base}/v1/jobs`, { method: "POST", headers: auth, body: JSON.stringify({ command: ["x"] }) })).json()) as { id: string };
    // Warm the paths a stream takes once, so the figure is the streams, not first-use code.
    const warm = new AbortController();
    await fetch(`${base}/v1/jobs/${job.id}/events`, { headers: auth, signal: warm.signal });
    warm.abort();
    await new Promise((r) => setTimeout(r, 500));
    const before = rssMb(api.pid!);
    const ctls: AbortController[] = [];
    const statuses = await Promise.all(Array.from({ length: STREAMS }, async () => {
      const ctl = new AbortController();
      ctls.push(ctl);
      const res = await fetch(`${base}/v1/jobs/${job.id}${plain ? "" : "/events"}`, { headers: auth, signal: ctl.signal });
      if (plain) await res.text();
      if (res.status !== 200) await res.text();
      return res.status;
    }));
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssMb(api.pid!);
    for (const c of ctls) c.abort();
    const open = statuses.filter((s) => s === 200).length;
    return { mode: plain ? "GET /v1/jobs/{id}" : "GET /v1/jobs/{id}/events", cap, attempted: STREAMS, open, refused_429: statuses.filter((s) => s === 429).length, rss_before_mb: +before.toFixed(1), rss_after_mb: +after.toFixed(1) };
  } finally {
    api.kill("SIGTERM");
    await new Promise((r) => api.once("exit", r));
    await env.cleanup();
  }
}

console.log(JSON.stringify(await run("20", true)));
for (const cap of ["20", "100000"]) console.log(JSON.stringify(await run(cap)));
