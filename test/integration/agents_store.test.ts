import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  authenticateAgent, authenticateApiToken, createApiToken, createEnrollmentToken, createPool, enrollAgent, getAgentRow,
  markAgentOffline, markAgentOnline, revokeAgent, setAgentPaused, type Pool,
} from "@labbridge/store";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// Agents and tokens in MariaDB: one-use enrollment, hashed credentials, revocation, and
// ONLINE/OFFLINE fenced on the session so an old socket cannot knock out a new one.

const T0 = Date.UTC(2025, 0, 1);
const at = (ms: number) => new Date(T0 + ms);

let env: TestEnv;
let pool: Pool;

beforeEach(async () => {
  env = await createTestEnv();
  pool = createPool(env.config.mysqlUrl);
});

afterEach(async () => {
  await pool.end();
  await env.cleanup();
});

async function token(ttlSeconds = 600, labels: Record<string, string> = {}) {
  return (await createEnrollmentToken(pool, { createdBy: "admin", ttlSeconds, labels, now: at(0) })).token;
}

const enroll = (t: string, ms = 1000) => enrollAgent(pool, { token: t, name: "ws", hostname: "ws", os: "linux", labels: { gpu: "4090" }, now: at(ms) });

const online = (agentId: string, sessionId: string, ms: number) =>
  markAgentOnline(pool, { agentId, gatewayId: "gw-1", sessionId, hostname: "ws", gpus: [], at: at(ms) });

describe("enrollment", () => {
  it("an enrollment token works once", async () => {
    const t = await token();
    const first = await enroll(t);
    expect(first?.agentId).toMatch(/^agt_/);
    expect(first?.credential).toMatch(/^lba_/);
    expect(await enroll(t, 2000)).toBeNull();
  });

  it("two enrollments racing on one token make one agent", async () => {
    const t = await token();
    const results = await Promise.all([enroll(t), enroll(t), enroll(t)]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    const [rows] = await pool.query("SELECT COUNT(*) AS n FROM agents");
    expect(Number((rows as { n: number }[])[0]!.n)).toBe(1);
  });

  it("an expired enrollment token is refused", async () => {
    const t = await token(60);
    expect(await enroll(t, 60_000)).toBeNull();
  });

  it("stores neither the enrollment token nor the credential in clear", async () => {
    const t = await token();
    const { credential } = (await enroll(t))!;
    const [rows] = await pool.query("SELECT token_hash FROM enrollment_tokens UNION ALL SELECT secret_hash FROM agent_credentials");
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(t);
    expect(stored).not.toContain(credential);
  });

  it("a credential authenticates its agent until the agent is revoked", async () => {
    const { agentId, credential } = (await enroll(await token()))!;
    expect((await authenticateAgent(pool, credential))?.id).toBe(agentId);
    expect(await authenticateAgent(pool, `${credential}x`)).toBeNull();
    expect(await revokeAgent(pool, { agentId, now: at(5000) })).toBe(true);
    expect(await authenticateAgent(pool, credential)).toBeNull();
    expect(await revokeAgent(pool, { agentId, now: at(6000) })).toBe(false);
    expect(await setAgentPaused(pool, { agentId, paused: true, reason: null })).toBe(false);
    expect(await online(agentId, "ses_late", 7000)).toBe(false);
  });
});

describe("presence in MySQL", () => {
  it("marking OFFLINE with an old session leaves the newer session ONLINE", async () => {
    const { agentId } = (await enroll(await token()))!;
    expect(await online(agentId, "ses_1", 1000)).toBe(true);
    expect(await online(agentId, "ses_2", 2000)).toBe(true);
    expect(await markAgentOffline(pool, { agentId, sessionId: "ses_1", at: at(3000) })).toBe(false);
    expect(await getAgentRow(pool, agentId)).toMatchObject({ status: "ONLINE", session_id: "ses_2" });
    expect(await markAgentOffline(pool, { agentId, sessionId: "ses_2", at: at(4000) })).toBe(true);
    expect((await getAgentRow(pool, agentId))?.status).toBe("OFFLINE");
  });

  it("a late ONLINE of an older session does not replace a newer one", async () => {
    const { agentId } = (await enroll(await token()))!;
    await online(agentId, "ses_new", 5000);
    expect(await online(agentId, "ses_old", 4000)).toBe(false);
    expect((await getAgentRow(pool, agentId))?.session_id).toBe("ses_new");
  });
});

describe("API tokens", () => {
  const by = { actor: "admin", role: "admin" as const, requestId: null };
  const ok = (owner: string, role: string, tokenId: string | null) => ({ status: "ok", principal: { owner, role, tokenId } });

  it("the admin token and minted tokens resolve to their owner and role; others do not", async () => {
    const admin = "admin-secret";
    expect(await authenticateApiToken(pool, admin, admin, at(0))).toEqual(ok("admin", "admin", null));
    const bob = await createApiToken(pool, { owner: "bob", role: "user", ttlSeconds: 600, now: at(0), by });
    expect(await authenticateApiToken(pool, bob.token, admin, at(0))).toEqual(ok("bob", "user", bob.id));
    expect(await authenticateApiToken(pool, `${bob.token}x`, admin, at(0))).toEqual({ status: "unknown" });
    expect(await authenticateApiToken(pool, "anything", null, at(0))).toEqual({ status: "unknown" });
    await pool.execute("UPDATE api_tokens SET revoked_at = ?", [at(1)]);
    expect(await authenticateApiToken(pool, bob.token, admin, at(0))).toEqual({ status: "unknown" });
  });

  it("a minted token is refused as expired from its expiry on, and not a millisecond before", async () => {
    const bob = await createApiToken(pool, { owner: "bob", role: "user", ttlSeconds: 60, now: at(0), by });
    expect(bob.expiresAt).toEqual(at(60_000));
    expect(await authenticateApiToken(pool, bob.token, null, at(59_999))).toEqual(ok("bob", "user", bob.id));
    expect(await authenticateApiToken(pool, bob.token, null, at(60_000))).toEqual({ status: "expired", tokenId: bob.id });
  });

  it("no token is minted for the reserved owner admin in any case, and one already in the table is not honoured", async () => {
    for (const owner of ["admin", "Admin", "ADMIN"]) {
      await expect(createApiToken(pool, { owner, role: "user", ttlSeconds: 600, now: at(0), by })).rejects.toThrow(/reserved/);
    }
    const [rows] = await pool.query("SELECT COUNT(*) AS n FROM api_tokens");
    expect((rows as { n: number }[])[0]!.n).toBe(0);
    // A token minted before the fix (written straight into the table) still does not authenticate.
    const bob = await createApiToken(pool, { owner: "bob", role: "user", ttlSeconds: 600, now: at(0), by });
    await pool.execute("UPDATE api_tokens SET owner = 'admin' WHERE id = ?", [bob.id]);
    expect(await authenticateApiToken(pool, bob.token, "admin-secret", at(0))).toEqual({ status: "unknown" });
  });
});
