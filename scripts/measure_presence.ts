// Measures how fast the scheduler alone applies presence (issue 11): N provisioned agents,
// N agent.online entries appended as gateways append them (handle_hello.ts), then the real
// scheduler started in this process and timed until every agent is ONLINE; then a storm
// (N agent.offline of those sessions, then N agent.online of new ones) appended while no
// scheduler runs, one started again, timed until every agent holds its new session. The
// entries are in the stream before the scheduler starts, so neither a gateway's hellos nor
// this script's appending shares the clock (or the event loop) with what is measured.
// Where the time goes: every statement the scheduler sends is timed by its kind, and with
// MEASURE_PROFILE=<folder> each phase's CPU profile (this process: the scheduler and the
// polling, not the provisioning or the appending) is written there, for Chrome DevTools.
// Real Redis and MariaDB, own prefix and database, removed afterwards.
//   npx tsx scripts/measure_presence.ts [agents=20000] > scheduler.log
// The scheduler logs to stdout at LB_LOG_LEVEL (default info, as in production: its
// per-agent lines are part of the cost); the figures go to stderr as one JSON line each.
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { createLogger } from "@labbridge/logging";
import { encodeEntry, streamNames } from "@labbridge/protocol";
import { startScheduler } from "@labbridge/scheduler";
import { createPool, provisionAgents, type Pool } from "@labbridge/store";
import { Redis, type ChainableCommander } from "ioredis";
import { createTestEnv } from "@labbridge/devstack";

const AGENTS = Number(process.argv[2] ?? 20_000);
const LEVEL = process.env.LB_LOG_LEVEL ?? "info";
const PROFILE_DIR = process.env.MEASURE_PROFILE;
const report = (o: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(o)}\n`);
const inspector = PROFILE_DIR ? new Session() : null;
inspector?.connect();
await inspector?.post("Profiler.enable");

// A long sweep, so that only the entries drive the work being measured.
const env = await createTestEnv({ LB_SWEEP_SECONDS: "600", LB_LOG_LEVEL: LEVEL }, "lbmeasure");
const pool = createPool(env.config.mysqlUrl, 4);
const redis = new Redis(env.config.redisUrl);
try {
  const agents = await provisionAgents(pool, { count: AGENTS, namePrefix: "ws", os: "linux", labels: {}, now: new Date() });
  const stream = streamNames(env.config.prefix).agentEvents;
  const hellos = (pipe: ChainableCommander, session: string, connectedSince: number) => {
    for (const a of agents) {
      pipe.xadd(stream, "*", ...encodeEntry({
        type: "agent.online", agent_id: a.agentId,
        data: { gateway_id: "gw-m", session_id: `${session}_${a.agentId}`, os: "linux", hostname: a.name, gpus: [], connected_since: connectedSince, agent_version: "0.0.0" },
      }));
    }
  };
  const phase = async (name: string, entries: number, append: (pipe: ChainableCommander) => void, session: string) => {
    const appendStarted = performance.now();
    const pipe = redis.pipeline();
    append(pipe);
    await pipe.exec();
    const appended = performance.now() - appendStarted;
    await inspector?.post("Profiler.start");
    const started = performance.now();
    const scheduler = startScheduler(env.config, { log: createLogger("scheduler", LEVEL), consumer: "m0" });
    const timings = timeStatements(scheduler.ctx.pool);
    await waitUntil(pool, session, started);
    const seconds = (performance.now() - started) / 1000;
    if (inspector) {
      const { profile } = await inspector.post("Profiler.stop");
      await writeFile(join(PROFILE_DIR!, `presence-${name.replace(/\W+/g, "-")}.cpuprofile`), JSON.stringify(profile));
    }
    await scheduler.close();
    report({ phase: name, agents: AGENTS, entries, log_level: LEVEL, append_ms: Math.round(appended), seconds: Number(seconds.toFixed(2)), entries_per_s: Math.round(entries / seconds), statements: timings.summary() });
  };

  const t0 = Date.now();
  await phase("cold start", AGENTS, (pipe) => hellos(pipe, "ses1", t0), "ses1");
  await phase("storm", 2 * AGENTS, (pipe) => {
    for (const a of agents) pipe.xadd(stream, "*", ...encodeEntry({ type: "agent.offline", agent_id: a.agentId, data: { session_id: `ses1_${a.agentId}`, cause: "socket_closed", close_code: 1006 } }));
    hellos(pipe, "ses2", t0 + 60_000);
  }, "ses2");
} finally {
  await pool.end();
  redis.disconnect();
  await env.cleanup();
}

/** Polls until every agent is ONLINE in a session named `<session>_<agent id>`. */
async function waitUntil(pool: Pool, session: string, started: number): Promise<void> {
  for (;;) {
    const [rows] = await pool.query("SELECT COUNT(*) AS n FROM agents WHERE status = 'ONLINE' AND session_id = CONCAT(?, '_', id)", [session]);
    if (Number((rows as { n: number }[])[0]!.n) === AGENTS) return;
    if (performance.now() - started > 300_000) throw new Error(`Presence not applied within 300 s: session "${session}"`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Wraps the pool's query and execute to time each statement, keyed by its first words. */
function timeStatements(p: Pool) {
  const stats = new Map<string, { n: number; ms: number; max: number }>();
  // Includes the wait for a free connection: what the scheduler's loop waits for.
  const wrap = <F extends (...args: never[]) => Promise<unknown>>(f: F): F => (async (...args: Parameters<F>) => {
    const sql = typeof args[0] === "string" ? (args[0] as string) : String((args[0] as unknown as { sql?: string })?.sql ?? "?");
    const key = sql.replace(/\s+/g, " ").trim().slice(0, 48);
    const t = performance.now();
    try {
      return await f(...args);
    } finally {
      const ms = performance.now() - t;
      const s = stats.get(key) ?? { n: 0, ms: 0, max: 0 };
      stats.set(key, { n: s.n + 1, ms: s.ms + ms, max: Math.max(s.max, ms) });
    }
  }) as F;
  (p as { query: unknown }).query = wrap(p.query.bind(p) as never);
  (p as { execute: unknown }).execute = wrap(p.execute.bind(p) as never);
  return {
    summary: () => [...stats].sort((a, b) => b[1].ms - a[1].ms).map(([sql, s]) => ({ sql, n: s.n, total_ms: Math.round(s.ms), max_ms: Math.round(s.max) })),
  };
}
