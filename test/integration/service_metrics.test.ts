import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { createLogger } from "@labbridge/logging";
import { checkJobSpec, ID_PREFIX, newId } from "@labbridge/protocol";
import { startReaper, type RunningReaper } from "@labbridge/lease-reaper";
import { startScheduler, type RunningScheduler } from "@labbridge/scheduler";
import { createEnrollmentToken, createJob, createPool, enrollAgent, getJob, markAgentOnline, type Pool } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";

// /metrics of the scheduler and the reaper, scraped over HTTP as Prometheus would, against
// a real scheduler assigning real jobs in MariaDB and real consumer groups in Redis.

const silent = createLogger("metrics-test", "silent");

let env: TestEnv;
let pool: Pool;
let redis: Redis;
let scheduler: RunningScheduler | null = null;
let reaper: RunningReaper | null = null;

beforeEach(async () => {
  env = await createTestEnv();
  pool = createPool(env.config.mysqlUrl);
  redis = new Redis(env.config.redisUrl);
});

afterEach(async () => {
  await scheduler?.close();
  await reaper?.close();
  scheduler = reaper = null;
  await pool.end();
  redis.disconnect();
  await env.cleanup();
});

async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  const values = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    values.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return values;
}

async function onlineAgent(): Promise<string> {
  const { token } = await createEnrollmentToken(pool, { createdBy: "admin", ttlSeconds: 600, labels: {}, now: new Date() });
  const agentId = (await enrollAgent(pool, { token, name: "ws", hostname: "ws", os: "linux", labels: {}, now: new Date() }))!.agentId;
  await markAgentOnline(pool, { agentId, gatewayId: env.config.gatewayId, sessionId: newId(ID_PREFIX.session), hostname: "ws", gpus: [], at: new Date() });
  return agentId;
}

async function submit(requirements: Record<string, unknown> = {}): Promise<string> {
  const checked = checkJobSpec({ command: ["x"], requirements });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return (await createJob(pool, { owner: "alice", spec: checked.value, idempotencyKey: null, now: new Date() })).job.id;
}

describe("scheduler /metrics", () => {
  it("shows jobs by state, PENDING jobs by reason, the dispatch latency of an assignment, and consumer group lag", async () => {
    scheduler = startScheduler(env.config, { log: silent });
    const port = (await scheduler.metrics.server)!.port;
    expect(port).toBeGreaterThan(0);
    await onlineAgent();
    const runnable = await submit();
    await submit({ os: "windows" });
    await waitFor(async () => (await getJob(pool, runnable))!.state === "ASSIGNED", 10_000, "the runnable job to be ASSIGNED");
    // A group that has read nothing: its lag is every entry of the stream.
    await redis.xgroup("CREATE", scheduler.ctx.streams.jobEvents, "probe", "0", "MKSTREAM");
    for (let i = 0; i < 3; i++) await appendEntry(redis, scheduler.ctx.streams.jobEvents, { type: "job.progress", job_id: runnable, data: {} });

    const m = await scrape(port);
    expect(m.get('lb_jobs{state="ASSIGNED"}')).toBe(1);
    expect(m.get('lb_jobs{state="PENDING"}')).toBe(1);
    expect(m.get('lb_pending_jobs{reason="no_agent_matches"}')).toBe(1);
    expect(m.get("lb_dispatch_latency_seconds_count")).toBe(1);
    expect(m.get('lb_dispatch_latency_seconds_bucket{le="+Inf"}')).toBe(1);
    expect(m.get("lb_dispatch_latency_seconds_sum")).toBeGreaterThanOrEqual(0);
    const jobEvents = scheduler.ctx.streams.jobEvents;
    expect(m.get(`lb_stream_group_lag{group="probe",stream="${jobEvents}"}`)).toBeGreaterThanOrEqual(3);
    expect(m.get(`lb_stream_group_pending{group="probe",stream="${jobEvents}"}`)).toBe(0);
    expect(m.get(`lb_stream_group_lag{group="scheduler",stream="${scheduler.ctx.streams.agentEvents}"}`)).toBe(0);
  });

  it("an assignment's latency lands in the bucket of its time from submit to ASSIGNED", async () => {
    const now = Date.UTC(2025, 0, 1, 12);
    // The job was submitted 2 s before the scheduler's clock: the assignment observes 2 s.
    scheduler = startScheduler(env.config, { log: silent, clock: () => now });
    const port = (await scheduler.metrics.server)!.port;
    await onlineAgent();
    const checked = checkJobSpec({ command: ["x"] });
    if (!checked.ok) throw new Error("spec refused");
    const { job } = await createJob(pool, { owner: "alice", spec: checked.value, idempotencyKey: null, now: new Date(now - 2000) });
    await waitFor(async () => (await getJob(pool, job.id))!.state === "ASSIGNED", 10_000, "the job to be ASSIGNED");
    const m = await scrape(port);
    expect(m.get('lb_dispatch_latency_seconds_bucket{le="1"}')).toBe(0);
    expect(m.get('lb_dispatch_latency_seconds_bucket{le="2.5"}')).toBe(1);
    expect(m.get("lb_dispatch_latency_seconds_sum")).toBe(2);
  });
});

describe("lease-reaper /metrics", () => {
  it("shows jobs by state and PENDING jobs by reason", async () => {
    reaper = startReaper(env.config, { log: silent });
    const port = (await reaper.metrics)!.port;
    await submit({ os: "windows" });
    await submit();
    const m = await scrape(port);
    expect(m.get('lb_jobs{state="PENDING"}')).toBe(2);
    // No agent is enrolled at all: nothing could run either job.
    expect(m.get('lb_pending_jobs{reason="no_agent_matches"}')).toBe(2);
  });
});
