// Quick measure of the scheduler's matching throughput (issue 8 item 4): AGENTS agents with
// free slots for every job, JOBS PENDING jobs in MySQL, one job.submitted wake-up each on
// the jobs stream (as the API writes them), then the time until every job is ASSIGNED.
// Real Redis and MariaDB, own prefix and database, removed afterwards.
//   npx tsx scripts/measure_matching.ts [jobs=2000] [agents=20] [schedulers=1]
import { createLogger } from "@labbridge/logging";
import { checkJobSpec, encodeEntry, streamNames } from "@labbridge/protocol";
import { startScheduler } from "@labbridge/scheduler";
import { createEnrollmentToken, createJob, createPool, enrollAgent, markAgentOnline } from "@labbridge/store";
import { Redis } from "ioredis";
import { createTestEnv } from "@labbridge/devstack";

const JOBS = Number(process.argv[2] ?? 2000);
const AGENTS = Number(process.argv[3] ?? 20);
const SCHEDULERS = Number(process.argv[4] ?? 1);

// A long sweep, so that only the wake-ups drive the matching being measured.
const env = await createTestEnv({ LB_SWEEP_SECONDS: "600", LB_LOG_LEVEL: "silent" }, "lbmeasure");
const pool = createPool(env.config.mysqlUrl, 32);
const redis = new Redis(env.config.redisUrl);
const log = createLogger("measure", "silent");
try {
  const now = new Date();
  for (let i = 0; i < AGENTS; i++) {
    const { token } = await createEnrollmentToken(pool, { createdBy: "admin", ttlSeconds: 600, labels: {}, now });
    const { agentId } = (await enrollAgent(pool, { token, name: `ws${i}`, hostname: "ws", os: "linux", labels: {}, now }))!;
    await markAgentOnline(pool, { agentId, gatewayId: "gw-m", sessionId: `ses_${agentId}`, hostname: "ws", gpus: [], at: now });
  }
  await pool.query("UPDATE agents SET slots = ?", [Math.ceil(JOBS / AGENTS)]);
  const checked = checkJobSpec({ command: ["python", "train.py"] });
  if (!checked.ok) throw new Error("bad spec");
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, JOBS - i) }, (_, k) =>
      createJob(pool, { owner: `owner${(i + k) % 5}`, spec: checked.value, idempotencyKey: null, now: new Date(now.getTime() + i + k) })));
    ids.push(...batch.map((b) => b.job.id));
  }
  const schedulers = Array.from({ length: SCHEDULERS }, (_, i) => startScheduler(env.config, { log, consumer: `m${i}` }));
  await new Promise((r) => setTimeout(r, 300)); // consumer groups created, loops blocked on the stream

  const started = performance.now();
  const pipe = redis.pipeline();
  for (const id of ids) pipe.xadd(streamNames(env.config.prefix).jobs, "*", ...encodeEntry({ type: "job.submitted", job_id: id, data: {} }));
  await pipe.exec();
  let left = JOBS;
  while (left > 0) {
    const [rows] = await pool.query("SELECT COUNT(*) AS n FROM jobs WHERE state = 'PENDING'");
    left = Number((rows as { n: number }[])[0]!.n);
    if (left > 0) await new Promise((r) => setTimeout(r, 20));
    if (performance.now() - started > 300_000) throw new Error(`${left} jobs still PENDING after 300 s`);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ jobs: JOBS, agents: AGENTS, schedulers: SCHEDULERS, seconds: Number(seconds.toFixed(3)), jobs_per_s: Math.round(JOBS / seconds) }));
  await Promise.all(schedulers.map((s) => s.close()));
} finally {
  await pool.end();
  redis.disconnect();
  await env.cleanup();
}
