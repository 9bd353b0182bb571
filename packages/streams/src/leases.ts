// Attempt leases (DESIGN.md "Lease"): (attempt, holder agent, job, started, expires_at) in
// one ZSET and one HASH under the same hash tag. Each move is one Lua script, and every
// script checks the holder and the expiry, so a late message from an old attempt or a
// lost agent cannot extend or start a lease that has run out. A lease is live while its
// expiry is after now; at expiry (score <= now) it is dead for every script alike. The
// reaper claims a dead lease by setting its score to CLAIMED, which no clock can revive,
// so a gateway whose clock lags the reaper's still cannot start or extend it.
import type { Redis } from "ioredis";
import { runScript } from "./run_script.ts";
import type { RedisKeys } from "./keys.ts";

// KEYS[1] leases zset, KEYS[2] holders hash
// ARGV[1] attempt_id, ARGV[2] agent_id, ARGV[3] job_id, ARGV[4] expires_at (ms), ARGV[5] started flag (0|1)
// Returns 1 when created, 0 when the attempt already had a lease (a re-run of the same grant).
const GRANT = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[5])
return 1`;

/** Score of a lease the reaper has claimed: below any clock's now. */
export const CLAIMED_SCORE = -1;

// KEYS as GRANT. ARGV[1] agent_id, ARGV[2] now (ms), ARGV[3] new expiry (ms), ARGV[4..] attempt ids.
// Extends each lease held by the agent that has not yet expired; returns the attempt ids it
// did not extend (lost: expired, reaped, or someone else's). Never shortens a lease (GT):
// a heartbeat that still names an attempt whose result holds the lease for longer must
// not cut that hold back to one TTL.
const EXTEND = `
local lost = {}
for i = 4, #ARGV do
  local att = ARGV[i]
  local holder = redis.call('HGET', KEYS[2], att)
  local score = redis.call('ZSCORE', KEYS[1], att)
  if holder and score and string.match(holder, '^([^|]+)') == ARGV[1] and tonumber(score) > tonumber(ARGV[2]) then
    redis.call('ZADD', KEYS[1], 'XX', 'GT', ARGV[3], att)
  else
    table.insert(lost, att)
  end
end
return lost`;

// KEYS as GRANT. ARGV[1] attempt_id, ARGV[2] agent_id, ARGV[3] now (ms), ARGV[4] new expiry (ms).
// Marks the lease started. Returns 1 when it was just marked, 2 when it was already started
// (a retried request: grant again), 0 when refused (no lease, expired, or another holder).
const MARK_STARTED = `
local holder = redis.call('HGET', KEYS[2], ARGV[1])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not holder or not score or tonumber(score) <= tonumber(ARGV[3]) then return 0 end
local agent, job, started = string.match(holder, '^([^|]+)|([^|]+)|(%d)$')
if agent ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[4], ARGV[1])
if started == '1' then return 2 end
redis.call('HSET', KEYS[2], ARGV[1], agent .. '|' .. job .. '|1')
return 1`;

// KEYS as GRANT. ARGV[1] attempt_id, ARGV[2] now (ms), ARGV[3] CLAIMED score.
// The reaper's claim: if the lease is dead (score <= now), pin it dead and return its
// holder ("agent|job|started") as it is at this instant; else return false (renewed).
const CLAIM_EXPIRED = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if not score or not holder or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return holder`;

// KEYS as GRANT. ARGV[1] attempt_id, ARGV[2] agent_id, ARGV[3] now (ms).
// Ends the agent's live lease now (score now - 1), for the reaper's next pass. Returns 1 when
// ended, 0 when the lease was not live or not the agent's.
const EXPIRE_NOW = `
local holder = redis.call('HGET', KEYS[2], ARGV[1])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not holder or not score or tonumber(score) <= tonumber(ARGV[3]) or string.match(holder, '^([^|]+)') ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[3]) - 1, ARGV[1])
return 1`;

// KEYS as GRANT. ARGV[1] attempt_id. Removes the lease. Returns 1 if it existed.
const RELEASE = `
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('HDEL', KEYS[2], ARGV[1])`;

// KEYS as GRANT. ARGV[1] attempt_id. Removes the lease only if it was never marked started,
// so a cancel of an assigned attempt and a start request cannot both win. Returns 1 when
// removed (or already gone), 0 when the attempt has started.
const REVOKE_UNSTARTED = `
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder and string.sub(holder, -1) == '1' then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`;

/** A lease as stored. */
export interface Lease {
  attemptId: string;
  agentId: string;
  jobId: string;
  started: boolean;
  expiresAt: number;
}

/** Result of a start request against the lease. */
export type StartGrant = "granted" | "already_started" | "refused";

/** The lease moves, each one atomic script. */
export class Leases {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  private run(script: string, args: (string | number)[]): Promise<unknown> {
    return runScript(this.redis, script, 2, this.keys.leases, this.keys.leaseHolders, ...args);
  }

  /** Creates the lease of a new assignment. */
  async grant(attemptId: string, agentId: string, jobId: string, expiresAt: number): Promise<boolean> {
    return (await this.run(GRANT, [attemptId, agentId, jobId, expiresAt, 0])) === 1;
  }

  /**
   * Re-creates a lease Redis lost (data loss beyond what AOF kept) for an attempt MySQL
   * still calls active. Whether it started is unknown, so it is restored as started: the
   * agent's start request is still granted ("already started"), and if the agent is gone
   * the attempt fails instead of being re-run. False when a lease exists.
   */
  async restore(attemptId: string, agentId: string, jobId: string, expiresAt: number): Promise<boolean> {
    return (await this.run(GRANT, [attemptId, agentId, jobId, expiresAt, 1])) === 1;
  }

  /** Of these attempt ids, the ones that have no lease at all. */
  async missing(attemptIds: string[]): Promise<string[]> {
    if (attemptIds.length === 0) return [];
    const holders = await this.redis.hmget(this.keys.leaseHolders, ...attemptIds);
    return attemptIds.filter((_, i) => holders[i] === null);
  }

  /** Extends the agent's live leases; returns the attempt ids whose lease is lost. */
  async extend(agentId: string, attemptIds: string[], now: number, expiresAt: number): Promise<string[]> {
    if (attemptIds.length === 0) return [];
    return (await this.run(EXTEND, [agentId, now, expiresAt, ...attemptIds])) as string[];
  }

  /** Ends the agent's live lease now (the agent says it lost the attempt), so the reaper acts on its next pass. */
  async expireNow(agentId: string, attemptId: string, now: number): Promise<boolean> {
    return (await this.run(EXPIRE_NOW, [attemptId, agentId, now])) === 1;
  }

  /** Marks the lease started, if it is live and the agent's. */
  async markStarted(attemptId: string, agentId: string, now: number, expiresAt: number): Promise<StartGrant> {
    const r = await this.run(MARK_STARTED, [attemptId, agentId, now, expiresAt]);
    return r === 1 ? "granted" : r === 2 ? "already_started" : "refused";
  }

  /** Removes a lease (the attempt ended or was reaped). Idempotent. */
  async release(attemptId: string): Promise<void> {
    await this.run(RELEASE, [attemptId]);
  }

  /**
   * Claims a dead lease for the reaper: from then on no script can start or extend it.
   * Returns the lease as claimed (its started flag is final), or null when it is live or gone.
   */
  async claimExpired(attemptId: string, now: number): Promise<Lease | null> {
    const holder = (await this.run(CLAIM_EXPIRED, [attemptId, now, CLAIMED_SCORE])) as string | null;
    return holder ? parseLease(attemptId, holder, CLAIMED_SCORE) : null;
  }

  /** Removes the lease unless it was marked started; true when the attempt can no longer start. */
  async revokeUnstarted(attemptId: string): Promise<boolean> {
    return (await this.run(REVOKE_UNSTARTED, [attemptId])) === 1;
  }

  /** Reads one lease, or null. */
  async get(attemptId: string): Promise<Lease | null> {
    const [holder, score] = await Promise.all([
      this.redis.hget(this.keys.leaseHolders, attemptId),
      this.redis.zscore(this.keys.leases, attemptId),
    ]);
    return holder && score ? parseLease(attemptId, holder, Number(score)) : null;
  }

  /** True when the lease is live at `now` (its expiry is after now). */
  static isLive(lease: Lease, now: number): boolean {
    return lease.expiresAt > now;
  }

  /** Leases whose expiry is at or before `now` (claimed ones first), at most `limit`. */
  async expired(now: number, limit: number): Promise<Lease[]> {
    const flat = await this.redis.zrangebyscore(this.keys.leases, "-inf", now, "WITHSCORES", "LIMIT", 0, limit);
    const ids = flat.filter((_, i) => i % 2 === 0);
    if (ids.length === 0) return [];
    const holders = await this.redis.hmget(this.keys.leaseHolders, ...ids);
    const out: Lease[] = [];
    for (const [i, attemptId] of ids.entries()) {
      const holder = holders[i];
      if (holder) out.push(parseLease(attemptId, holder, Number(flat[2 * i + 1])));
      else await this.redis.zrem(this.keys.leases, attemptId); // half-removed lease: finish removing it
    }
    return out;
  }
}

function parseLease(attemptId: string, holder: string, expiresAt: number): Lease {
  const [agentId = "", jobId = "", started = "0"] = holder.split("|");
  return { attemptId, agentId, jobId, started: started === "1", expiresAt };
}
