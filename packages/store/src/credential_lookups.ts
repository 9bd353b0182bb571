// Agent credentials checked many at once, for the gateway's batched upgrades
// (services/gateway/src/credential_lookups.ts): one `IN (…)` query that reads only the
// columns a session keeps, each hash getting the answer checkAgentCredential gives (live,
// revoked, unknown).
import type { AgentRow } from "./agents_repo.ts";
import type { Pool } from "./db.ts";

/** What a session needs of a live credential's agent: its id, its enrolled OS and the API's pause columns. */
export type CredentialAgent = Pick<AgentRow, "id" | "os" | "paused" | "pause_reason" | "pause_until">;

/** What a presented credential (by its hash) is: live with its agent, revoked (agent or credential), or unknown. */
export type CredentialAnswer =
  | { status: "live"; agent: CredentialAgent }
  | { status: "revoked"; agentId: string }
  | { status: "unknown" };

type CredentialRow = CredentialAgent & { secret_hash: string; revoked_at: Date | null; credential_revoked_at: Date | null };

/** Checks up to a few hundred credential hashes with one query; a hash with no row is unknown. */
export async function checkCredentialHashes(pool: Pool, hashes: readonly string[]): Promise<Map<string, CredentialAnswer>> {
  const answers = new Map<string, CredentialAnswer>();
  if (hashes.length === 0) return answers;
  // query, not execute: a prepared statement per list length would pile up on every connection.
  const [rows] = await pool.query(
    `SELECT c.secret_hash, c.revoked_at AS credential_revoked_at, a.id, a.os, a.revoked_at, a.paused, a.pause_reason, a.pause_until
     FROM agent_credentials c JOIN agents a ON a.id = c.agent_id WHERE c.secret_hash IN (?)`,
    [hashes],
  );
  for (const row of rows as CredentialRow[]) {
    answers.set(row.secret_hash, row.credential_revoked_at || row.revoked_at
      ? { status: "revoked", agentId: row.id }
      : { status: "live", agent: { id: row.id, os: row.os, paused: row.paused, pause_reason: row.pause_reason, pause_until: row.pause_until } });
  }
  for (const hash of hashes) if (!answers.has(hash)) answers.set(hash, { status: "unknown" });
  return answers;
}
