import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { Presence, redisKeys } from "@labbridge/streams";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// The claim script on a real Redis with explicit time: a new session takes an agent only
// from a session that went silent, expired or closed, and of racing claims one wins.

const T0 = 1_700_000_000_000;
const TTL = 30_000;
const SILENT = 10_000;

let env: TestEnv;
let redis: Redis;
let presence: Presence;

beforeEach(async () => {
  env = await createTestEnv();
  redis = new Redis(env.config.redisUrl);
  presence = new Presence(redis, redisKeys(env.config.prefix));
});

afterEach(async () => {
  redis.disconnect();
  await env.cleanup();
});

const claim = (session: string, now: number, gateway = "gw-1") => presence.claim("agt_A", gateway, session, now, now + TTL, now - SILENT);

describe("Presence.claim", () => {
  it("claims an agent nobody holds", async () => {
    expect(await claim("ses_1", T0)).toEqual({ claimed: true, replaced: null });
    expect(await presence.session("agt_A")).toMatchObject({ gatewayId: "gw-1", sessionId: "ses_1", lastSeen: T0 });
  });

  it("is refused while the current session was seen within the silence window, and changes nothing", async () => {
    await claim("ses_1", T0);
    await presence.touch("agt_A", "ses_1", T0 + 5_000, T0 + 5_000 + TTL);
    expect(await claim("ses_2", T0 + 5_000 + SILENT - 1, "gw-2")).toEqual({
      claimed: false, current: { sessionId: "ses_1", gatewayId: "gw-1", lastSeen: T0 + 5_000 },
    });
    expect(await presence.session("agt_A")).toMatchObject({ gatewayId: "gw-1", sessionId: "ses_1", lastSeen: T0 + 5_000 });
  });

  it("replaces a session silent for the whole window, returning it", async () => {
    await claim("ses_1", T0);
    expect(await claim("ses_2", T0 + SILENT, "gw-2")).toEqual({ claimed: true, replaced: { sessionId: "ses_1", gatewayId: "gw-1" } });
    expect(await presence.touch("agt_A", "ses_1", T0 + SILENT + 1, T0 + TTL)).toBe("replaced");
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
