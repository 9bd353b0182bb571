// Request budgets shared by every API instance: one token bucket per (principal, budget)
// in one Redis hash, moved by one Lua script. The key's hash tag is the principal, so each
// call touches one hash slot (also under Redis Cluster) and one principal's buckets sit
// together. Time is the caller's injected clock, so tests are exact.
import type { Redis } from "ioredis";

/** A token bucket's shape: `burst` requests at once, refilled at `perSecond`. */
export interface RateBudget {
  burst: number;
  perSecond: number;
}

/** The answer for one request: allowed, or refused until `retryAfterMs` has passed. */
export interface RateDecision {
  allowed: boolean;
  retryAfterMs: number;
}

// KEYS[1] the bucket (HASH t = tokens left, ts = ms of the last refill)
// ARGV[1] now (ms), ARGV[2] burst, ARGV[3] refill per ms, ARGV[4] cost (0 = only look)
// Returns {1, 0} when the bucket holds max(cost, 1) tokens (and takes `cost` of them),
// else {0, ms until it will}. A clock behind the stored ts refills nothing, so two
// instances whose clocks differ a little cannot mint tokens by taking turns.
const TAKE = `
local now = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(h[1])
local ts = tonumber(h[2])
if not tokens or not ts then tokens = burst; ts = now end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local need = math.max(cost, 1)
if tokens < need then return {0, math.ceil((need - tokens) / rate)} end
if cost > 0 then
  tokens = tokens - cost
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(ts))
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
end
return {1, 0}`;

/** Per-principal token buckets in Redis. */
export class RateLimiter {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  /** Redis key of one principal's bucket of one budget, e.g. `lb:rl:{u:alice}:read`. */
  key(principal: string, budget: string): string {
    return `${this.prefix}:rl:{${principal}}:${budget}`;
  }

  /** Takes one request from the bucket, if it has one. */
  take(principal: string, budget: string, shape: RateBudget, now: number): Promise<RateDecision> {
    return this.run(principal, budget, shape, now, 1);
  }

  /** Says whether the bucket has a request left, taking nothing. */
  peek(principal: string, budget: string, shape: RateBudget, now: number): Promise<RateDecision> {
    return this.run(principal, budget, shape, now, 0);
  }

  private async run(principal: string, budget: string, shape: RateBudget, now: number, cost: number): Promise<RateDecision> {
    const [allowed, wait] = (await this.redis.eval(TAKE, 1, this.key(principal, budget), now, shape.burst, shape.perSecond / 1000, cost)) as [number, number];
    return { allowed: allowed === 1, retryAfterMs: wait };
  }
}
