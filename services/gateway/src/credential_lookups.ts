// Agent credentials checked in batches at the upgrade. A reconnect storm brings thousands
// of upgrades a second, and one query each made MySQL the gateway's bottleneck: the
// upgrades that arrive within a few milliseconds (at most `maxBatch`) are checked with one
// query (checkCredentialHashes), the same hash twice in a batch asked once. Each upgrade
// gets the answer checkAgentCredential gives; a failed query fails the upgrades of its
// batch only, as one failed lookup did. The batching is the heartbeats' (round_trip_batch.ts).
import { checkCredentialHashes, type CredentialAnswer, type Pool } from "@labbridge/store";
import { RoundTripBatch } from "./round_trip_batch.ts";

/** How CredentialLookups gathers a batch. */
export interface CredentialBatchOptions {
  /** Upgrades per query at most; a full batch goes at once. */
  maxBatch?: number;
  /** How long the first upgrade of a batch waits for the others (ms): a storm fills a batch well within it. */
  windowMs?: number;
}

/** Gathers credential lookups into batches; one per gateway, over its pool. */
export class CredentialLookups extends RoundTripBatch<string, CredentialAnswer> {
  constructor(pool: Pool, opts: CredentialBatchOptions = {}) {
    super(async (hashes) => {
      const answers = await checkCredentialHashes(pool, [...new Set(hashes)]);
      return hashes.map((hash) => answers.get(hash)!);
    }, { max: opts.maxBatch ?? 500, windowMs: opts.windowMs ?? 2 }, "Credential lookup");
  }

  /** The answer for one credential hash, from the batch it joins. */
  check(hash: string): Promise<CredentialAnswer> {
    return this.add(hash);
  }
}
