// Per-gateway limits on connections, before any session exists. How often one agent's
// credential may open a connection: a thief, or a buggy agent, reconnecting in a loop
// would otherwise cost a claim, an online/offline event pair and a few log lines each
// time; over the limit the socket is closed with 4429 at once. How many refused
// credentials one address gets audited and logged: past that, refusals still close with
// 4401/4403 but write nothing, so a flood of bad credentials cannot fill the audit trail.
// Live credentials never count against an address, so agents behind one NAT address
// cannot be locked out by a neighbour. Refusals over a limit are logged once a minute.
import { TokenBucket, type BucketLimit } from "./token_bucket.ts";

/** Connections per credential (by its hash): 20 at once, then one every 5 s. An agent reconnects a few times an hour. */
export const AGENT_CONNECTS: BucketLimit = { burst: 20, perSecond: 0.2 };
/** Audited refusals per peer address: 20 at once, then one a second. A legit agent presents no bad credential. */
export const REFUSED_CREDENTIALS: BucketLimit = { burst: 20, perSecond: 1 };

const WARN_EVERY_MS = 60_000;

/**
 * Token buckets by key (credential hash, peer address), the least recently used dropped
 * past `maxKeys`. A bucket that has refilled is the same as none, so prune() drops it: a
 * connected agent's credential costs nothing once its bucket is full again (5 s).
 */
export class KeyedLimiter {
  private readonly entries = new Map<string, { bucket: TokenBucket; warnedAt: number }>();

  constructor(private readonly limit: BucketLimit, private readonly maxKeys = 10_000) {}

  /** Counts one connection for `key`; false when its bucket is empty. */
  allow(key: string, now: number): boolean {
    return this.entry(key, now).bucket.take(now);
  }

  /** Drops `key` (a bad credential's hash: random keys must not push real ones out). */
  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Whether a refusal for `key` should be logged: at most once a minute per key. */
  shouldWarn(key: string, now: number): boolean {
    const e = this.entry(key, now);
    if (now - e.warnedAt < WARN_EVERY_MS) return false;
    e.warnedAt = now;
    return true;
  }

  /** Drops every bucket that has refilled and was not warned about in the last minute; returns how many are left. */
  prune(now: number): number {
    for (const [key, e] of this.entries) {
      if (now - e.warnedAt >= WARN_EVERY_MS && e.bucket.isFull(now)) this.entries.delete(key);
    }
    return this.entries.size;
  }

  private entry(key: string, now: number) {
    let e = this.entries.get(key);
    if (e) this.entries.delete(key); // re-inserted below: the Map's order is the use order
    else e = { bucket: new TokenBucket(this.limit, now), warnedAt: -Infinity };
    this.entries.set(key, e);
    if (this.entries.size > this.maxKeys) this.entries.delete(this.entries.keys().next().value!);
    return e;
  }
}

/** The gateway's two connection limiters. */
export interface ConnectionLimits {
  agentConnects: KeyedLimiter;
  refusedCredentials: KeyedLimiter;
}

/** How often a gateway prunes its limiters of refilled buckets. */
export const PRUNE_EVERY_MS = 5_000;

/** Fresh limiters with the gateway's sizes. */
export function connectionLimits(): ConnectionLimits {
  return { agentConnects: new KeyedLimiter(AGENT_CONNECTS), refusedCredentials: new KeyedLimiter(REFUSED_CREDENTIALS) };
}
