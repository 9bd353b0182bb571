import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "@labbridge/logging";
import { startScheduler, type RunningScheduler } from "@labbridge/scheduler";
import { createPool, markAgentOnline, markAgentsOnline, provisionAgents, revokeAgent, type Pool } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";

// Presence in MySQL written in batches: a fleet's agent.online entries become a few fenced
// statements (handle_agents_online.ts, agents_online.ts), on the real Redis and MariaDB,
// with every fence of the one-at-a-time write kept.

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
