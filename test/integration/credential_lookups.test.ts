import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  checkAgentCredential, createPool, hashSecret, provisionAgents, revokeAgent, setAgentPaused, type CredentialAnswer,
  type Pool, type ProvisionedAgent,
} from "@labbridge/store";
import { CredentialLookups } from "../../services/gateway/src/credential_lookups.ts";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// Credential lookups at the upgrade, in batches, on real MariaDB: one query per batch, each
// credential answered as checkAgentCredential answers it, and a failed query failing only
// its own batch.

let env: TestEnv;
let pool: Pool;
let agents: ProvisionedAgent[];

beforeEach(async () => {
  env = await createTestEnv();
  // One connection, so the session's statement counter sees every query the lookups make.
  pool = createPool(env.config.mysqlUrl, 1);
  agents = await provisionAgents(pool, { count: 5, namePrefix: "ws", os: "linux", labels: {}, now: new Date() });
});

afterEach(async () => {
  await pool.end();
  await env.cleanup();
});

async function selectsSoFar(): Promise<number> {
  const [rows] = await pool.query("SHOW SESSION STATUS LIKE 'Com_select'");
  return Number((rows as { Value: string }[])[0]!.Value);
}

/** What checkAgentCredential says, in the batch's shape (a live agent only by id, OS and pause columns). */
async function singleAnswer(credential: string): Promise<CredentialAnswer> {
  const one = await checkAgentCredential(pool, credential);
  if (one.status !== "live") return one;
  const { id, os, paused, pause_reason, pause_until } = one.agent;
  return { status: "live", agent: { id, os, paused, pause_reason, pause_until } };
}

describe("credential lookups in batches", () => {
  it("one query answers a batch of live, revoked and unknown credentials, duplicates included, as the single lookup does", async () => {
    const [live, paused, revokedAgent, revokedCredential, other] = agents as [ProvisionedAgent, ProvisionedAgent, ProvisionedAgent, ProvisionedAgent, ProvisionedAgent];
    await setAgentPaused(pool, { agentId: paused.agentId, paused: true, reason: "maintenance" });
    await revokeAgent(pool, { agentId: revokedAgent.agentId, now: new Date() });
    // Only the credential is revoked; its agent is not.
    await pool.query("UPDATE agent_credentials SET revoked_at = UTC_TIMESTAMP(3) WHERE agent_id = ?", [revokedCredential.agentId]);
    const credentials = [live, paused, revokedAgent, revokedCredential, other, live, revokedAgent].map((a) => a.credential)
      .concat(["lbc_never_issued", "lbc_never_issued"]);
    const lookups = new CredentialLookups(pool, { windowMs: 5 });
    const before = await selectsSoFar();
    const answers = await Promise.all(credentials.map((c) => lookups.check(hashSecret(c))));
    expect(await selectsSoFar()).toBe(before + 1);

    expect(answers[0]).toEqual({ status: "live", agent: { id: live.agentId, os: "linux", paused: 0, pause_reason: null, pause_until: null } });
    expect(answers[1]).toMatchObject({ status: "live", agent: { id: paused.agentId, paused: 1, pause_reason: "maintenance" } });
    expect(answers[2]).toEqual({ status: "revoked", agentId: revokedAgent.agentId });
    expect(answers[3]).toEqual({ status: "revoked", agentId: revokedCredential.agentId });
    expect(answers[5]).toEqual(answers[0]);
    expect(answers[6]).toEqual(answers[2]);
    expect(answers[7]).toEqual({ status: "unknown" });
    expect(answers[8]).toEqual({ status: "unknown" });
    for (const [i, c] of credentials.entries()) expect(answers[i], `credential ${i}`).toEqual(await singleAnswer(c));
  });

  it("a full batch goes at once and the rest make the next one: 7 distinct credentials in batches of 3 take 3 queries", async () => {
    const more = await provisionAgents(pool, { count: 2, namePrefix: "more", os: "windows", labels: {}, now: new Date() });
    const all = [...agents, ...more];
    // A window far longer than the test: only full batches, and the last one's timer, send queries.
    const lookups = new CredentialLookups(pool, { maxBatch: 3, windowMs: 50 });
    const before = await selectsSoFar();
    const answers = await Promise.all(all.map((a) => lookups.check(hashSecret(a.credential))));
    expect(answers.map((a) => (a.status === "live" ? a.agent.id : a.status))).toEqual(all.map((a) => a.agentId));
    expect(await selectsSoFar()).toBe(before + 3);
  });

  it("a failed query fails the upgrades of its batch only: the next batch is answered", async () => {
    const lookups = new CredentialLookups(pool, { windowMs: 1 });
    await pool.query("RENAME TABLE agent_credentials TO agent_credentials_away");
    const failed = await Promise.allSettled(agents.slice(0, 3).map((a) => lookups.check(hashSecret(a.credential))));
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect((failed[0] as PromiseRejectedResult).reason).toMatchObject({ code: "ER_NO_SUCH_TABLE" });
    await pool.query("RENAME TABLE agent_credentials_away TO agent_credentials");
    const answered = await Promise.all(agents.slice(0, 3).map((a) => lookups.check(hashSecret(a.credential))));
    expect(answered.map((a) => a.status)).toEqual(["live", "live", "live"]);
  });
});
