import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { Presence, redisKeys } from "@labbridge/streams";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// Presence scripts on a real Redis with explicit time: a newer session always wins, and
// nothing an older session does can knock it out.

const T0 = 1_700_000_000_000;
const TTL = 30_000;
const INTERVAL = 5_000;

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

describe("Presence", () => {
  it("connect records the gateway, session and times of an agent", async () => {
    expect(await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL)).toBeNull();
    expect(await presence.session("agt_A")).toEqual({ agentId: "agt_A", gatewayId: "gw-1", sessionId: "ses_1", connectedSince: T0, lastSeen: T0, intervalMs: null });
  });

  it("a new connection replaces the session and returns the one it replaced", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    expect(await presence.connect("agt_A", "gw-2", "ses_2", T0 + 5, T0 + 5 + TTL)).toBe("ses_1");
    expect(await presence.session("agt_A")).toMatchObject({ gatewayId: "gw-2", sessionId: "ses_2", connectedSince: T0 + 5 });
  });

  it("touch renews the current session's presence and last-seen time", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    expect(await presence.touch("agt_A", "ses_1", T0 + 10_000, T0 + 10_000 + TTL, INTERVAL)).toBe("renewed");
    expect((await presence.session("agt_A"))?.lastSeen).toBe(T0 + 10_000);
    expect(await presence.expired(T0 + TTL + 1, 10)).toEqual([]);
  });

  it("touch with a replaced session fails and changes nothing", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    await presence.connect("agt_A", "gw-1", "ses_2", T0 + 1, T0 + 1 + TTL);
    expect(await presence.touch("agt_A", "ses_1", T0 + 20_000, T0 + 20_000 + TTL, INTERVAL)).toBe("replaced");
    expect((await presence.session("agt_A"))?.lastSeen).toBe(T0 + 1);
    expect(await presence.expired(T0 + 1 + TTL, 10)).toEqual([{ agentId: "agt_A", sessionId: "ses_2" }]);
  });

  it("touch of an agent that was never connected (or was reaped) says expired", async () => {
    expect(await presence.touch("agt_X", "ses_1", T0, T0 + TTL, INTERVAL)).toBe("expired");
    expect(await presence.session("agt_X")).toBeNull();
  });

  it("disconnect with an old session does nothing to the new one", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    await presence.connect("agt_A", "gw-2", "ses_2", T0 + 1, T0 + 1 + TTL);
    expect(await presence.disconnect("agt_A", "ses_1")).toBe(false);
    expect(await presence.session("agt_A")).toMatchObject({ sessionId: "ses_2", gatewayId: "gw-2" });
  });

  it("disconnect with the current session removes the agent's presence", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    expect(await presence.disconnect("agt_A", "ses_1")).toBe(true);
    expect(await presence.session("agt_A")).toBeNull();
    expect(await presence.expired(T0 + 10 * TTL, 10)).toEqual([]);
  });

  it("expired lists only agents whose presence ran out, with their session", async () => {
    await presence.connect("agt_A", "gw-1", "ses_A", T0, T0 + 1000);
    await presence.connect("agt_B", "gw-1", "ses_B", T0, T0 + 5000);
    expect(await presence.expired(T0 + 999, 10)).toEqual([]);
    expect(await presence.expired(T0 + 1000, 10)).toEqual([{ agentId: "agt_A", sessionId: "ses_A" }]);
  });

  it("removeExpired does nothing while the presence is still live", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    expect(await presence.removeExpired("agt_A", "ses_1", T0 + TTL - 1)).toBe(false);
    expect(await presence.session("agt_A")).not.toBeNull();
  });

  it("removeExpired removes the presence of an agent that stayed silent past its expiry", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    expect(await presence.removeExpired("agt_A", "ses_1", T0 + TTL + 1)).toBe(true);
    expect(await presence.session("agt_A")).toBeNull();
    expect(await presence.expired(T0 + 10 * TTL, 10)).toEqual([]);
  });

  it("removeExpired after a touch renewed the presence does nothing", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    // A heartbeat renews it a moment before expiry; the reaper's clock already lists it.
    expect(await presence.touch("agt_A", "ses_1", T0 + TTL - 1, T0 + 2 * TTL, INTERVAL)).toBe("renewed");
    expect(await presence.removeExpired("agt_A", "ses_1", T0 + TTL)).toBe(false);
    expect(await presence.session("agt_A")).toMatchObject({ sessionId: "ses_1" });
  });

  it("a touch at or after expiry is refused, so the agent must say hello again", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    expect(await presence.touch("agt_A", "ses_1", T0 + TTL, T0 + 2 * TTL, INTERVAL)).toBe("expired");
    expect(await presence.expired(T0 + TTL, 10)).toEqual([{ agentId: "agt_A", sessionId: "ses_1" }]);
  });

  it("removeExpired of an old session keeps a newer session's data", async () => {
    await presence.connect("agt_A", "gw-1", "ses_1", T0, T0 + TTL);
    // A new session connects with an expiry that is also past (clock skew between gateways).
    await presence.connect("agt_A", "gw-2", "ses_2", T0 + 1, T0 + TTL);
    await presence.removeExpired("agt_A", "ses_1", T0 + TTL + 1);
    expect(await presence.session("agt_A")).toMatchObject({ sessionId: "ses_2" });
  });
});
