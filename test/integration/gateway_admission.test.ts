import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "@labbridge/gateway";
import { CLOSE_CODES, retryAfterOf } from "@labbridge/protocol";
import { provisionAgents, type ProvisionedAgent } from "@labbridge/store";
import { createPool } from "@labbridge/store";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";
import { CapturedLog } from "./captured_log.ts";
import { ScriptedAgent } from "./ws_agent.ts";

// A gateway that sheds load (admission.ts) on a real uWebSockets.js socket, real Redis and
// MariaDB: past its limit of credential lookups in flight an upgrade is closed with 1013
// and a retry hint before any lookup, hellos wait their turn (hello_queue.ts), and past its
// hard cap every newcomer is refused, with one log line each way.

let env: TestEnv;
let gw: RunningGateway;
let log: CapturedLog;
let agents: ProvisionedAgent[];
const sockets: ScriptedAgent[] = [];

async function start(overrides: Record<string, string>, count: number) {
  env = await createTestEnv(overrides);
  const pool = createPool(env.config.mysqlUrl);
  agents = await provisionAgents(pool, { count, namePrefix: "ws", os: "linux", labels: {}, now: new Date() });
  await pool.end();
  log = new CapturedLog();
  gw = await startGateway(env.config, { log: log.logger });
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await gw?.close();
  await env?.cleanup();
});

/** Connects an agent and says hello at once; resolves with the socket. */
async function connect(a: ProvisionedAgent): Promise<ScriptedAgent> {
  const s = await ScriptedAgent.connect(`ws://127.0.0.1:${gw.port}/v1/agent`, a.credential);
  sockets.push(s);
  s.hello({ hostname: a.name, gpus: [] });
  return s;
}

/** Welcome, or the close that came instead. */
async function outcome(s: ScriptedAgent, timeoutMs = 15_000): Promise<"welcome" | { code: number; reason: string }> {
  return s.next("welcome", () => true, timeoutMs).then(() => "welcome" as const, async () => s.waitClosed(timeoutMs));
}

describe("admission control", () => {
  it("upgrades past the in-flight limit are closed with 1013 and a retry hint, and get in when they come back", async () => {
    await start({ LB_GATEWAY_ADMIT_IN_FLIGHT: "3" }, 30);
    const first = await Promise.all(agents.map(async (a) => outcome(await connect(a))));
    const refused = first.flatMap((o, i) => (o === "welcome" ? [] : [{ o, a: agents[i]! }]));
    expect(first.filter((o) => o === "welcome").length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeGreaterThan(0);
    for (const { o } of refused) {
      expect(o).toMatchObject({ code: CLOSE_CODES.try_again_later });
      const hint = retryAfterOf((o as { reason: string }).reason);
      expect(hint).toBeGreaterThanOrEqual(250);
    }
    // The hints spread the refused agents: they are not all told the same wait.
    expect(new Set(refused.map(({ o }) => retryAfterOf((o as { reason: string }).reason))).size).toBeGreaterThan(1);
    expect(log.withMsg("admission control: gateway busy, refusing upgrades with a retry hint").length).toBeGreaterThanOrEqual(1);
    // Coming back a few at a time (as their spread hints make them), every one gets in.
    for (const { a } of refused) expect(await outcome(await connect(a))).toBe("welcome");
    expect(gw.ctx.sessions.size).toBe(30);
  });

  it("a storm of 2,000 upgrades against small limits: every agent gets in, no connect fails, hints are spread, no limit is ever exceeded", async () => {
    const storm = 2_000;
    await start({ LB_GATEWAY_ADMIT_IN_FLIGHT: "20", LB_GATEWAY_HELLO_IN_FLIGHT: "10" }, storm);
    const hints: number[] = [];
    const failures: unknown[] = [];
    let connects = 0;
    /** Knocks until welcomed, waiting each retry hint as the agent does; any other outcome is a failure. */
    const getIn = async (a: ProvisionedAgent) => {
      for (let tries = 0; tries < 100; tries++) {
        connects++;
        // A long wait allowed for the welcome: the last hellos of the storm wait behind the others, 10 at a time.
        const o = await connect(a).then((s) => outcome(s, 60_000), (err: Error) => ({ code: -1, reason: err.message }));
        if (o === "welcome") return;
        const hint = o.code === CLOSE_CODES.try_again_later ? retryAfterOf(o.reason) : null;
        if (hint === null) return void failures.push(o);
        hints.push(hint);
        await new Promise((r) => setTimeout(r, hint));
      }
      failures.push("still refused after 100 tries");
    };
    await Promise.all(agents.map(getIn));

    expect(failures).toEqual([]);
    expect(gw.ctx.sessions.size).toBe(storm);
    // The limits were reached (the storm was one) and never passed.
    expect(hints.length).toBeGreaterThan(0);
    expect(gw.ctx.admission.counts).toMatchObject({ peakInFlight: 20, inFlight: 0, open: storm });
    // The last hellos still announce their agents after the welcome.
    await waitFor(() => gw.ctx.hellos.counts.running === 0, 5_000, "every hello done");
    expect(gw.ctx.hellos.counts).toMatchObject({ peakRunning: 10, waiting: 0 });
    // Spread: not all in step, and at least the shortest hint.
    expect(Math.min(...hints)).toBeGreaterThanOrEqual(250);
    expect(new Set(hints).size).toBeGreaterThan(Math.min(50, hints.length / 4));
    expect(connects).toBe(storm + hints.length);
  }, 90_000);

  it("a credential lookup that fails answers its upgrades 503 and gives their places back; the next batch gets in", async () => {
    await start({ LB_GATEWAY_ADMIT_IN_FLIGHT: "5" }, 3);
    const pool = createPool(env.config.mysqlUrl);
    try {
      await pool.query("RENAME TABLE agent_credentials TO agent_credentials_away");
      const failed = await Promise.allSettled(agents.map((a) => connect(a)));
      expect(failed.map((r) => r.status === "rejected" && (r.reason as Error).message)).toEqual(Array(3).fill("upgrade refused: HTTP 503"));
      expect(gw.ctx.admission.counts).toMatchObject({ inFlight: 0, open: 0 });
      await pool.query("RENAME TABLE agent_credentials_away TO agent_credentials");
      for (const a of agents) expect(await outcome(await connect(a))).toBe("welcome");
    } finally {
      await pool.end();
    }
  });

  it("past the connection cap newcomers are refused with 1013, logged once when full and once when there is room again", async () => {
    await start({ LB_GATEWAY_MAX_AGENTS: "3" }, 5);
    const held = [];
    for (const a of agents.slice(0, 3)) {
      const s = await connect(a);
      expect(await outcome(s)).toBe("welcome");
      held.push(s);
    }
    for (const a of agents.slice(3, 5)) {
      const o = await outcome(await connect(a));
      expect(o).toMatchObject({ code: CLOSE_CODES.try_again_later });
      expect(retryAfterOf((o as { reason: string }).reason)).toBeGreaterThanOrEqual(5_000);
    }
    expect(log.withMsg("connection cap reached: refusing new agents with 1013 until some leave")).toHaveLength(1);
    held[0]!.ws.close(1000);
    await held[0]!.waitClosed();
    expect(await outcome(await connect(agents[3]!))).toBe("welcome");
    expect(log.withMsg("below the connection cap again: admitting agents")).toHaveLength(1);
  });
});
