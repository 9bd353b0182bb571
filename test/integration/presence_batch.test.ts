import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "@labbridge/logging";
import { checkJobSpec, type StreamEntry } from "@labbridge/protocol";
import { createContext, type ServiceContext } from "@labbridge/runtime";
import { dispatchJob, handlePresenceEntries, matchPending, startScheduler, type RunningScheduler } from "@labbridge/scheduler";
import {
  createJob, createPool, markAgentOnline, markAgentsOffline, markAgentsOnline, PRESENCE_ROWS_PER_STATEMENT, provisionAgents, revokeAgent, type Pool,
} from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { createTestEnv, streamEntries, waitFor, type TestEnv } from "../harness/test_env.ts";

// Presence in MySQL written in batches: a fleet's agent.online entries become a few fenced
// statements (handle_presence_entries.ts, agents_online.ts), on the real Redis and MariaDB,
// with every fence of the one-at-a-time write kept, however many statements a run takes.

const T0 = Date.UTC(2025, 0, 1);
const at = (ms: number) => new Date(T0 + ms);
const silent = createLogger("presence-batch-test", "silent");

let env: TestEnv;
let pool: Pool;
let scheduler: RunningScheduler | null = null;

beforeEach(async () => {
  env = await createTestEnv();
  pool = createPool(env.config.mysqlUrl);
});

afterEach(async () => {
  await scheduler?.close();
  scheduler = null;
  await pool.end();
  await env.cleanup();
});

const session = (agentId: string, sessionId: string, ms: number) => ({ agentId, gatewayId: "gw-1", sessionId, hostname: "ws", gpus: [], at: at(ms) });

async function statusOf(agentId: string) {
  const [rows] = await pool.query("SELECT status, session_id FROM agents WHERE id = ?", [agentId]);
  return (rows as { status: string; session_id: string | null }[])[0]!;
}

describe("markAgentsOnline", () => {
  it("of two sessions of one agent in a batch the later one wins, whatever their order", async () => {
    const [a] = await provisionAgents(pool, { count: 1, namePrefix: "ws", os: "linux", labels: {}, now: at(0) });
    const took = await markAgentsOnline(pool, [session(a!.agentId, "ses_new", 2000), session(a!.agentId, "ses_old", 1000)]);
    expect(took).toEqual([a!.agentId]);
    expect(await statusOf(a!.agentId)).toEqual({ status: "ONLINE", session_id: "ses_new" });
  });

  it("a batch revives no revoked agent and does not replace a newer session already recorded", async () => {
    const [revoked, newer, plain] = await provisionAgents(pool, { count: 3, namePrefix: "ws", os: "linux", labels: {}, now: at(0) });
    await revokeAgent(pool, { agentId: revoked!.agentId, now: at(10) });
    await markAgentOnline(pool, { agentId: newer!.agentId, gatewayId: "gw-2", sessionId: "ses_newer", hostname: "ws", gpus: [], at: at(5000) });
    const took = await markAgentsOnline(pool, [session(revoked!.agentId, "ses_r", 1000), session(newer!.agentId, "ses_stale", 4000), session(plain!.agentId, "ses_p", 1000)]);
    expect(took).toEqual([plain!.agentId]);
    expect((await statusOf(revoked!.agentId)).status).toBe("OFFLINE");
    expect(await statusOf(newer!.agentId)).toEqual({ status: "ONLINE", session_id: "ses_newer" });
  });
});

describe("presence statements in pieces", () => {
  it("sessions cut into pieces are all written, and an agent's two sessions on either side of a cut count once, for the later", async () => {
    const ids = (await provisionAgents(pool, { count: 5, namePrefix: "ws", os: "linux", labels: {}, now: at(0) })).map((a) => a.agentId);
    const [a, b, c, d, e] = ids as [string, string, string, string, string];
    // Equal times: the later entry wins, as applying them one by one would decide.
    const sessions = [session(a, "ses_a1", 1000), session(b, "ses_b", 1000), session(c, "ses_c", 1000), session(a, "ses_a2", 1000), session(d, "ses_d", 1000), session(e, "ses_e", 1000)];
    const took = await markAgentsOnline(pool, sessions, 2);
    expect([...took].sort()).toEqual([...ids].sort());
    expect(await statusOf(a)).toEqual({ status: "ONLINE", session_id: "ses_a2" });
    for (const [id, name] of [[b, "ses_b"], [c, "ses_c"], [d, "ses_d"], [e, "ses_e"]]) expect(await statusOf(id!)).toEqual({ status: "ONLINE", session_id: name });
  });

  it("offlines in pieces close only current sessions, and each closed session is reported once", async () => {
    const [a, b] = (await provisionAgents(pool, { count: 2, namePrefix: "ws", os: "linux", labels: {}, now: at(0) })).map((x) => x.agentId) as [string, string];
    await markAgentOnline(pool, { agentId: a, gatewayId: "gw-1", sessionId: "ses_a2", hostname: "ws", gpus: [], at: at(2000) });
    await markAgentOnline(pool, { agentId: b, gatewayId: "gw-1", sessionId: "ses_b", hostname: "ws", gpus: [], at: at(1000) });
    const off = (agentId: string, sessionId: string) => ({ agentId, sessionId, at: at(3000) });
    // One session a piece: a's stale session first, its current one later, and again (a redelivery).
    const closed = await markAgentsOffline(pool, [off(a, "ses_a1"), off(b, "ses_b"), off(a, "ses_a2"), off(a, "ses_a2")], 1);
    expect(closed.map((s) => `${s.agentId}/${s.sessionId}`).sort()).toEqual([`${a}/ses_a2`, `${b}/ses_b`].sort());
    expect(await statusOf(a)).toEqual({ status: "OFFLINE", session_id: "ses_a2" });
    expect((await statusOf(b)).status).toBe("OFFLINE");
  });
});

describe("the presence handler", () => {
  let ctx: ServiceContext;
  beforeEach(() => {
    ctx = createContext("presence-batch-test", env.config, { clock: () => T0 + 10_000, log: silent });
  });
  afterEach(async () => {
    await ctx.close();
  });

  const online = (agentId: string, sessionId: string, ms: number, gatewayId = "gw-1"): StreamEntry => ({
    type: "agent.online", v: 1, agent_id: agentId, ts: String(T0 + ms), data: { gateway_id: gatewayId, session_id: sessionId, os: "linux", hostname: "ws", gpus: [], connected_since: T0 + ms },
  });
  const offline = (agentId: string, sessionId: string, ms: number): StreamEntry => ({
    type: "agent.offline", v: 1, agent_id: agentId, ts: String(T0 + ms), data: { session_id: sessionId, cause: "socket_closed" },
  });
  /** Counts the statements the context's pool sends whose text matches `pattern`. */
  const countStatements = (pattern: RegExp) => {
    const seen: string[] = [];
    const query = ctx.pool.query.bind(ctx.pool);
    (ctx.pool as { query: unknown }).query = (...args: Parameters<typeof query>) => {
      if (typeof args[0] === "string" && pattern.test(args[0])) seen.push(args[0]);
      return query(...args);
    };
    return seen;
  };

  it("a run bigger than two statements' pieces keeps each agent's stream order, and applying it twice changes nothing", async () => {
    const fill = 2 * PRESENCE_ROWS_PER_STATEMENT + 100;
    const agents = (await provisionAgents(pool, { count: fill + 2, namePrefix: "ws", os: "linux", labels: {}, now: at(0) })).map((a) => a.agentId);
    const [x, y, ...rest] = agents as [string, string, ...string[]];
    const half = rest.length / 2;
    // x: online, offline, online again (a new session) at the far end of the run; y: online, then gone.
    const entries = [
      online(x, "ses_x1", 1000),
      ...rest.slice(0, half).map((id) => online(id, `ses_${id}`, 1000)),
      offline(x, "ses_x1", 1500),
      online(y, "ses_y1", 1500),
      ...rest.slice(half).map((id) => online(id, `ses_${id}`, 1500)),
      offline(y, "ses_y1", 1800),
      online(x, "ses_x2", 2000),
    ];
    for (let round = 0; round < 2; round++) {
      await handlePresenceEntries(ctx, entries);
      expect(await statusOf(x)).toEqual({ status: "ONLINE", session_id: "ses_x2" });
      expect(await statusOf(y)).toEqual({ status: "OFFLINE", session_id: "ses_y1" });
      const [rows] = await pool.query("SELECT COUNT(*) AS n FROM agents WHERE status = 'ONLINE' AND session_id = CONCAT('ses_', id)");
      expect(Number((rows as { n: number }[])[0]!.n)).toBe(fill);
    }
  });

  it("with no job ASSIGNED a batch of reconnects looks up no agent's attempts, and with one its unstarted assignment is sent again", async () => {
    const [a, b] = (await provisionAgents(pool, { count: 2, namePrefix: "ws", os: "linux", labels: {}, now: at(0) })).map((x) => x.agentId) as [string, string];
    const attemptReads = countStatements(/FROM attempts/);
    await handlePresenceEntries(ctx, [online(a, "ses_a1", 1000, "gw-a"), online(b, "ses_b1", 1000, "gw-a")]);
    expect(attemptReads).toEqual([]);

    const checked = checkJobSpec({ command: ["python", "train.py"] });
    if (!checked.ok) throw new Error("bad spec");
    const { job } = await createJob(ctx.pool, { owner: "alice", spec: checked.value, idempotencyKey: null, now: at(2000) });
    const assignment = (await dispatchJob(ctx, job.id))!;
    await handlePresenceEntries(ctx, [online(a, "ses_a2", 3000, "gw-b"), online(b, "ses_b2", 3000, "gw-b")]);
    const [cmd, ...more] = await streamEntries(ctx.redis, `${env.config.prefix}:gw:gw-b`);
    expect(cmd).toMatchObject({ type: "attempt.assign", job_id: job.id, attempt_id: assignment.attemptId, agent_id: assignment.agentId });
    expect(more).toEqual([]);
  });

  it("a matching pass with nothing PENDING reads no agent's capacity", async () => {
    await provisionAgents(pool, { count: 3, namePrefix: "ws", os: "linux", labels: {}, now: at(0) });
    await pool.query("UPDATE agents SET status = 'ONLINE'");
    const statements = countStatements(/./);
    expect(await matchPending(ctx)).toBe(0);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/state = 'PENDING'/);
  });
});

describe("the scheduler's agent.online consumer", () => {
  it("600 agents announced at once are all ONLINE with a few dozen statements, not one per agent", async () => {
    const agents = await provisionAgents(pool, { count: 600, namePrefix: "ws", os: "linux", labels: {}, now: at(0) });
    scheduler = startScheduler(env.config, { log: silent });
    // Counts statements the scheduler sends (the real pool still runs them).
    let statements = 0;
    const p = scheduler.ctx.pool;
    const query = p.query.bind(p);
    const execute = p.execute.bind(p);
    (p as { query: unknown }).query = (...args: Parameters<typeof query>) => (statements++, query(...args));
    (p as { execute: unknown }).execute = (...args: Parameters<typeof execute>) => (statements++, execute(...args));
    const pipeline = scheduler.ctx.redis.pipeline();
    for (const a of agents) {
      pipeline.xadd(scheduler.ctx.streams.agentEvents, "*", "type", "agent.online", "v", "1", "agent_id", a.agentId, "ts", String(T0),
        "data", JSON.stringify({ gateway_id: "gw-1", session_id: `ses_${a.agentId}`, os: "linux", hostname: a.name, gpus: [], connected_since: T0 + 1000 }));
    }
    await pipeline.exec();
    await waitFor(async () => {
      const [rows] = await pool.query("SELECT COUNT(*) AS n FROM agents WHERE status = 'ONLINE'");
      return Number((rows as { n: number }[])[0]!.n) === 600;
    }, 30_000, "600 agents ONLINE");
    expect(statements).toBeLessThan(60);
    const [rows] = await pool.query("SELECT COUNT(*) AS n FROM agents WHERE status = 'ONLINE' AND session_id = CONCAT('ses_', id)");
    expect(Number((rows as { n: number }[])[0]!.n)).toBe(600);
  });

  it("an agent.offline between two hellos of one agent is applied in stream order", async () => {
    const [a] = await provisionAgents(pool, { count: 1, namePrefix: "ws", os: "linux", labels: {}, now: at(0) });
    scheduler = startScheduler(env.config, { log: silent });
    const stream = scheduler.ctx.streams.agentEvents;
    const online = (sessionId: string, ms: number) =>
      appendEntry(scheduler!.ctx.redis, stream, { type: "agent.online", agent_id: a!.agentId, data: { gateway_id: "gw-1", session_id: sessionId, hostname: "ws", gpus: [], connected_since: T0 + ms } });
    await online("ses_1", 1000);
    await appendEntry(scheduler.ctx.redis, stream, { type: "agent.offline", agent_id: a!.agentId, data: { session_id: "ses_1" } });
    await online("ses_2", 2000);
    await waitFor(async () => (await statusOf(a!.agentId)).session_id === "ses_2", 15_000, "second session recorded");
    expect(await statusOf(a!.agentId)).toEqual({ status: "ONLINE", session_id: "ses_2" });
  });

  it("an agent that said hello and then closed within one run ends OFFLINE, and a stale offline leaves a newer session alone", async () => {
    const [a, b] = await provisionAgents(pool, { count: 2, namePrefix: "ws", os: "linux", labels: {}, now: at(0) });
    await markAgentOnline(pool, { agentId: b!.agentId, gatewayId: "gw-1", sessionId: "ses_b2", hostname: "ws", gpus: [], at: at(500) });
    scheduler = startScheduler(env.config, { log: silent });
    const { redis, streams } = scheduler.ctx;
    // Appended before the consumer reads, so they arrive as one run.
    const pipeline = redis.pipeline();
    const add = (type: string, agentId: string, data: Record<string, unknown>) =>
      pipeline.xadd(streams.agentEvents, "*", "type", type, "v", "1", "agent_id", agentId, "ts", String(T0 + 2000), "data", JSON.stringify(data));
    add("agent.online", a!.agentId, { gateway_id: "gw-1", session_id: "ses_a1", hostname: "ws", gpus: [], connected_since: T0 + 1000 });
    add("agent.offline", b!.agentId, { session_id: "ses_b1" });
    add("agent.offline", a!.agentId, { session_id: "ses_a1" });
    await pipeline.exec();
    await waitFor(async () => (await statusOf(a!.agentId)).session_id === "ses_a1" && (await statusOf(a!.agentId)).status === "OFFLINE", 15_000, "first agent offline");
    expect(await statusOf(b!.agentId)).toEqual({ status: "ONLINE", session_id: "ses_b2" });
  });
});
