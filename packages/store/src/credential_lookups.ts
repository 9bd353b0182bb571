// Agent credentials checked in batches at the upgrade. A reconnect storm brings thousands
// of upgrades a second, and one query each made MySQL the gateway's bottleneck: the
// upgrades that arrive within a few milliseconds (at most `maxBatch` distinct credentials)
// are checked with one `IN (…)` query that reads only the columns a session keeps. Each
// upgrade gets the answer checkAgentCredential gives (live, revoked, unknown); a failed
// query fails the upgrades of its batch only, as one failed lookup did.
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

/** How CredentialLookups gathers a batch. */
export interface CredentialBatchOptions {
  /** Distinct credentials per query at most; a full batch goes at once. */
  maxBatch?: number;
  /** How long the first upgrade of a batch waits for the others (ms): a storm fills a batch well within it. */
  windowMs?: number;
}

interface Waiter {
  resolve: (answer: CredentialAnswer) => void;
  reject: (err: unknown) => void;
}

/** Gathers credential lookups into batches; one per gateway, over its pool. */
export class CredentialLookups {
  private batch = new Map<string, Waiter[]>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly maxBatch: number;
  private readonly windowMs: number;

  constructor(private readonly pool: Pool, opts: CredentialBatchOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 500;
    this.windowMs = opts.windowMs ?? 2;
  }

  /** The answer for one credential hash, from the batch it joins (the same hash twice in one batch is asked once). */
  check(hash: string): Promise<CredentialAnswer> {
    return new Promise((resolve, reject) => {
      const waiters = this.batch.get(hash);
      if (waiters) waiters.push({ resolve, reject });
      else this.batch.set(hash, [{ resolve, reject }]);
      if (this.batch.size >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.batch;
    if (batch.size === 0) return;
    this.batch = new Map();
    checkCredentialHashes(this.pool, [...batch.keys()]).then(
      (answers) => {
        for (const [hash, waiters] of batch) for (const w of waiters) w.resolve(answers.get(hash)!);
      },
      (err: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
      },
    );
  }
}
