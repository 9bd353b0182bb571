// Per-session rate limits, one token bucket per frame type. A legit agent never comes near
// them (see the sizes below and docs/decisions/0012); a session that exceeds one is closed
// with 4429 and reconnects with backoff. Adding a frame type is one line in the table;
// a type the table does not name shares the default bucket.
import type { BucketLimit } from "./token_bucket.ts";

/** Limits by frame type, plus `default` for every type the table does not name. */
export type FrameLimitTable = Record<string, BucketLimit> & { default: BucketLimit };

/**
 * The gateway's table. Heartbeats come every `heartbeatSeconds` (±10% jitter): allow twice
 * that rate and a burst of 10 (frames queued behind a stalled link arrive together).
 * Presign requests come in bursts of 100–200 for a 10,000-output attempt: allow 500 at
 * once. Output chunks (about 240 outputs each, 4 in flight per attempt, each acked after
 * its MySQL write) number about 420 for the largest attempt (100,000 outputs): allow two
 * such attempts at once. Reports and start requests come once per attempt, again after
 * each reconnect, so they scale with the agent's job rate: an agent with several slots
 * running second-long jobs sends tens a second (the fault suite's agents did, and were cut
 * off 109 times at 2/s). Live log frames come at most every 250 ms per running attempt
 * (the agent's flush interval is 500 ms by default): 150/s carries 32 chatty attempts at
 * once; what each attempt's frames carry is bounded apart (log_allowance.ts). The bucket
 * bounds a flood's cost; it must never throttle work.
 */
export function frameLimits(heartbeatSeconds: number): FrameLimitTable {
  return {
    heartbeat: { burst: 10, perSecond: 2 / heartbeatSeconds },
    "attempt.start_request": { burst: 500, perSecond: 200 },
    "attempt.progress": { burst: 200, perSecond: 100 },
    "attempt.log": { burst: 300, perSecond: 150 },
    "attempt.finished": { burst: 500, perSecond: 200 },
    "attempt.outputs": { burst: 1000, perSecond: 200 },
    "presign.request": { burst: 500, perSecond: 50 },
    default: { burst: 10, perSecond: 1 },
  };
}

const shared = new Map<number, FrameLimitTable>();

/** The table for a heartbeat interval, one object for every session (not one per socket). */
export function sharedFrameLimits(heartbeatSeconds: number): FrameLimitTable {
  let table = shared.get(heartbeatSeconds);
  if (!table) shared.set(heartbeatSeconds, (table = frameLimits(heartbeatSeconds)));
  return table;
}

/** A table's limits by index, and each type's index (the default's for a type it does not name). */
interface IndexedTable {
  limits: BucketLimit[];
  indexOf: (type: string) => number;
}

const indexed = new WeakMap<FrameLimitTable, IndexedTable>();

function indexedTable(table: FrameLimitTable): IndexedTable {
  let t = indexed.get(table);
  if (!t) {
    const keys = Object.keys(table);
    const index = new Map(keys.map((k, i) => [k, i]));
    const fallback = index.get("default")!;
    indexed.set(table, (t = { limits: keys.map((k) => table[k]!), indexOf: (type) => index.get(type) ?? fallback }));
  }
  return t;
}

/** Tokens a bucket holds at `now`: time that runs backwards refills nothing. */
function refilled(limit: BucketLimit, tokens: number, updatedAt: number, now: number): number {
  return Math.min(limit.burst, tokens + (Math.max(0, now - updatedAt) / 1000) * limit.perSecond);
}

/**
 * One session's token buckets, one per frame type it sent lately (token_bucket.ts's
 * arithmetic). A bucket that has refilled is the same as none, so only buckets that are
 * not full are kept, as (type index, tokens, updated at) in one array of doubles: a
 * session that only beats holds one, and a gateway holds tens of thousands of sessions.
 */
export class FrameLimiter {
  private buckets: number[] | null = null;

  constructor(private readonly table: FrameLimitTable) {}

  /** Counts one frame of `type`; false when its bucket is empty (the session is over its limit). */
  allow(type: string, now: number): boolean {
    const t = indexedTable(this.table);
    const k = t.indexOf(type);
    const limit = t.limits[k]!;
    const b = this.dropRefilled(t, k, now);
    let i = 0;
    while (i < b.length && b[i] !== k) i += 3;
    const tokens = i < b.length ? refilled(limit, b[i + 1]!, b[i + 2]!, now) : limit.burst;
    const allowed = tokens >= 1;
    if (i < b.length) {
      b[i + 1] = allowed ? tokens - 1 : tokens;
      b[i + 2] = Math.max(b[i + 2]!, now);
    } else if (allowed) {
      this.buckets = b.concat([k, tokens - 1, now]);
    }
    return allowed;
  }

  /** Buckets held: those of types sent lately that have not refilled yet. */
  get size(): number {
    return (this.buckets?.length ?? 0) / 3;
  }

  /** The limit that applies to `type`, for the message that closes the session. */
  limitOf(type: string): BucketLimit {
    const t = indexedTable(this.table);
    return t.limits[t.indexOf(type)]!;
  }

  /** The buckets without those of other types than `k` that have refilled (a new array only when one goes). */
  private dropRefilled(t: IndexedTable, k: number, now: number): number[] {
    const b = this.buckets ?? [];
    const full = (i: number) => b[i] !== k && refilled(t.limits[b[i]!]!, b[i + 1]!, b[i + 2]!, now) >= t.limits[b[i]!]!.burst;
    let keep = 0;
    for (let i = 0; i < b.length; i += 3) if (!full(i)) keep++;
    if (keep * 3 === b.length) return b;
    const kept: number[] = new Array(keep * 3);
    for (let i = 0, j = 0; i < b.length; i += 3) {
      if (full(i)) continue;
      kept[j++] = b[i]!;
      kept[j++] = b[i + 1]!;
      kept[j++] = b[i + 2]!;
    }
    return (this.buckets = kept.length ? kept : null) ?? [];
  }
}
