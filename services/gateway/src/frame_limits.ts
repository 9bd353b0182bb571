// Per-session rate limits, one token bucket per frame type. A legit agent never comes near
// them (see the sizes below and docs/decisions/0012); a session that exceeds one is closed
// with 4429 and reconnects with backoff. Adding a frame type is one line in the table;
// a type the table does not name shares the default bucket.
import type { BucketLimit } from "./token_bucket.ts";
import { TokenBucket } from "./token_bucket.ts";

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

/** One session's buckets, made on first use. */
export class FrameLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly table: FrameLimitTable) {}

  /** Counts one frame of `type`; false when its bucket is empty (the session is over its limit). */
  allow(type: string, now: number): boolean {
    const key = Object.hasOwn(this.table, type) ? type : "default";
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(this.table[key]!, now)));
    return bucket.take(now);
  }

  /** The limit that applies to `type`, for the message that closes the session. */
  limitOf(type: string): BucketLimit {
    return Object.hasOwn(this.table, type) ? this.table[type]! : this.table.default;
  }
}
