import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { Presence, redisKeys } from "@labbridge/streams";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// The claim script on a real Redis with explicit time: a new session takes an agent only
// from a session that went silent, expired or closed, and of racing claims one wins.

const T0 = 1_700_000_000_000;
const TTL = 30_000;
const INTERVAL = 5_000;
const SILENT = 2 * INTERVAL;
const GATEWAYS = ["gw-1", "gw-2", "gw-3"];

let env: TestEnv;
let redis: Redis;
let presence: Presence;

beforeEach(async () => {
  env = await createTestEnv();
  redis = new Redis(env.config.redisUrl);
  presence = new Presence(redis, redisKeys(env.config.prefix));
  // Every gateway of these tests is alive unless a test says otherwise (a dead gateway's
  // sessions are replaceable at once: the tests at the end).
  for (const gw of GATEWAYS) await presence.markGatewayAlive(gw, 60_000);
});

afterEach(async () => {
  redis.disconnect();
  await env.cleanup();
});

const claim = (session: string, now: number, gateway = "gw-1") => presence.claim("agt_A", gateway, session, now, now + TTL, INTERVAL);

describe("Presence.claim", () => {
  it("claims an agent nobody holds", async () => {
    expect(await claim("ses_1", T0)).toEqual({ claimed: true, replaced: null });
    expect(await presence.session("agt_A")).toMatchObject({ gatewayId: "gw-1", sessionId: "ses_1", lastSeen: T0 });
  });

  it("is refused while the current session was seen within the silence window, and changes nothing", async () => {
    await claim("ses_1", T0);
    await presence.touch("agt_A", "ses_1", T0 + 5_000, T0 + 5_000 + TTL, INTERVAL);
    expect(await claim("ses_2", T0 + 5_000 + SILENT - 1, "gw-2")).toEqual({
      claimed: false, current: { sessionId: "ses_1", gatewayId: "gw-1", lastSeen: T0 + 5_000 },
    });
    expect(await presence.session("agt_A")).toMatchObject({ gatewayId: "gw-1", sessionId: "ses_1", lastSeen: T0 + 5_000 });
  });

  it("replaces a session silent for the whole window, returning it", async () => {
    await claim("ses_1", T0);
    expect(await claim("ses_2", T0 + SILENT, "gw-2")).toEqual({ claimed: true, replaced: { sessionId: "ses_1", gatewayId: "gw-1" } });
    expect(await presence.touch("agt_A", "ses_1", T0 + SILENT + 1, T0 + TTL, INTERVAL)).toBe("replaced");
  });

  it("replaces a session that closed cleanly at once", async () => {
    await claim("ses_1", T0);
    await presence.disconnect("agt_A", "ses_1");
    expect(await claim("ses_2", T0 + 1)).toEqual({ claimed: true, replaced: null });
  });

  it("of many claims racing at one instant, exactly one wins", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => claim(`ses_${i}`, T0)));
    const winners = results.map((r, i) => (r.claimed ? `ses_${i}` : null)).filter(Boolean);
    expect(winners).toHaveLength(1);
    expect((await presence.session("agt_A"))?.sessionId).toBe(winners[0]);
  });
});

// Each session is judged on its own interval (decision 0028): an idle agent beats every
// 15 s, a busy one every 5 s, and healthy means seen within two of the session's intervals.
describe("Presence.claim with per-session heartbeat windows", () => {
  const BUSY = 5_000;
  const IDLE = 15_000;
  const IDLE_TTL = 3 * IDLE;
  const claimAs = (session: string, now: number, intervalMs: number, ttl = TTL) =>
    presence.claim("agt_A", "gw-2", session, now, now + ttl, intervalMs);

  it("an idle session seen within two idle intervals is healthy, though silent longer than two busy ones", async () => {
    await presence.claim("agt_A", "gw-1", "ses_idle", T0, T0 + IDLE_TTL, IDLE);
    expect(await claimAs("ses_2", T0 + 2 * IDLE - 1, BUSY)).toMatchObject({ claimed: false, current: { sessionId: "ses_idle" } });
    expect(await claimAs("ses_3", T0 + 2 * IDLE, BUSY)).toEqual({ claimed: true, replaced: { sessionId: "ses_idle", gatewayId: "gw-1" } });
  });

  it("a busy session is replaceable after two busy intervals", async () => {
    await presence.claim("agt_A", "gw-1", "ses_busy", T0, T0 + TTL, BUSY);
    expect(await claimAs("ses_2", T0 + 2 * BUSY - 1, IDLE)).toMatchObject({ claimed: false });
    expect(await claimAs("ses_3", T0 + 2 * BUSY, IDLE)).toMatchObject({ claimed: true, replaced: { sessionId: "ses_busy" } });
  });

  it("a heartbeat that names attempts moves the session to the busy window, one that names none back to the idle one", async () => {
    await presence.claim("agt_A", "gw-1", "ses_1", T0, T0 + IDLE_TTL, IDLE);
    expect(await presence.touch("agt_A", "ses_1", T0 + 1_000, T0 + 1_000 + TTL, BUSY)).toBe("renewed");
    expect((await presence.session("agt_A"))?.intervalMs).toBe(BUSY);
    expect(await claimAs("ses_2", T0 + 1_000 + 2 * BUSY, IDLE)).toMatchObject({ claimed: true });
    // The new session, now idle again after its next beat, is judged on the idle window.
    expect(await presence.touch("agt_A", "ses_2", T0 + 12_000, T0 + 12_000 + IDLE_TTL, IDLE)).toBe("renewed");
    expect(await claimAs("ses_3", T0 + 12_000 + 2 * BUSY, BUSY)).toMatchObject({ claimed: false, current: { sessionId: "ses_2" } });
  });

  it("an idle agent back from a half-open link (it gives up after three idle intervals) finds its old session replaceable", async () => {
    await presence.claim("agt_A", "gw-1", "ses_1", T0, T0 + IDLE_TTL, IDLE);
    // Its last beat that got through, then silence on the gateway's side until the agent notices.
    await presence.touch("agt_A", "ses_1", T0 + IDLE, T0 + IDLE + IDLE_TTL, IDLE);
    const backAt = T0 + IDLE + 3 * IDLE;
    expect(await presence.claim("agt_A", "gw-1", "ses_back", backAt, backAt + IDLE_TTL, IDLE))
      .toEqual({ claimed: true, replaced: { sessionId: "ses_1", gatewayId: "gw-1" } });
    expect(await presence.session("agt_A")).toMatchObject({ sessionId: "ses_back", intervalMs: IDLE });
  });

  it("a session recorded without an interval is judged on the claimer's own", async () => {
    await presence.connect("agt_A", "gw-1", "ses_old", T0, T0 + TTL);
    expect(await claimAs("ses_2", T0 + 2 * BUSY - 1, BUSY)).toMatchObject({ claimed: false });
    expect(await claimAs("ses_3", T0 + 2 * BUSY, BUSY)).toMatchObject({ claimed: true });
  });
});

describe("Presence.claim and a gateway that died", () => {
  it("a session held by a gateway whose liveness ran out is replaced at once, however recently it was seen", async () => {
    expect((await claim("ses_1", T0, "gw-1")).claimed).toBe(true);
    expect(await claim("ses_2", T0 + 1, "gw-2")).toMatchObject({ claimed: false, current: { sessionId: "ses_1", gatewayId: "gw-1" } });
    await redis.del(redisKeys(env.config.prefix).gatewayAlive("gw-1")); // gw-1 killed: its key is not renewed
    expect(await claim("ses_2", T0 + 2, "gw-2")).toEqual({ claimed: true, replaced: { sessionId: "ses_1", gatewayId: "gw-1" } });
    expect(await presence.session("agt_A")).toMatchObject({ sessionId: "ses_2", gatewayId: "gw-2" });
  });

  it("a live gateway's healthy session is still refused, and a gateway that stopped is gone", async () => {
    expect((await claim("ses_1", T0, "gw-1")).claimed).toBe(true);
    expect((await claim("ses_2", T0 + 1, "gw-2")).claimed).toBe(false);
    await presence.markGatewayGone("gw-1");
    expect((await claim("ses_2", T0 + 2, "gw-2")).claimed).toBe(true);
  });

  it("a liveness key that expires frees the sessions once its TTL has passed", async () => {
    await presence.markGatewayAlive("gw-3", 150);
    expect((await claim("ses_1", T0, "gw-3")).claimed).toBe(true);
    expect((await claim("ses_2", T0 + 1, "gw-2")).claimed).toBe(false);
    await new Promise((r) => setTimeout(r, 300)); // Redis's own clock expires the key
    expect((await claim("ses_2", T0 + 2, "gw-2")).claimed).toBe(true);
  });
});

