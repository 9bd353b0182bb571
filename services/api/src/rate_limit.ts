// Rate limits of the API (docs/decisions/0018-api-rate-limits.md): every authenticated call
// spends from its principal's `read` or `write` bucket, and every call refused for its token
// spends from its source address's `auth_failures` bucket, which is checked before the token
// is looked up, so guessing tokens goes no faster than that bucket refills (a token that
// authenticated lately on this instance still gets its lookup). Buckets live in
// Redis (one Lua script, one hash slot per principal), shared by every API instance. With
// Redis away the limits are not enforced: a job must still be accepted (MySQL holds it).
import type { Principal } from "@labbridge/store";
import { isRedisUnavailableError, type RateDecision } from "@labbridge/streams";
import type { Request } from "@labbridge/uws";
import type { ApiContext } from "./api_context.ts";
import { ApiError } from "./api_error.ts";
import { bearerToken } from "./auth.ts";

/** The per-principal budgets a route may spend from. */
export type BudgetName = "read" | "write";

// Redis lost (ioredis is reconnecting) or given up: answer without limits rather than wait
// out ioredis's retries on every request, and say so once a minute at most. A connection
// still being made at start-up is waited for: the first requests are limited like the rest.
const REDIS_AWAY = new Set(["reconnecting", "close", "end"]);
let lastOpenWarning = 0;
async function decide(ctx: ApiContext, run: () => Promise<RateDecision>): Promise<RateDecision> {
  if (!REDIS_AWAY.has(ctx.redis.status)) {
    try {
      return await run();
    } catch (err) {
      if (!isRedisUnavailableError(err)) throw err;
    }
  }
  const now = ctx.clock();
  if (now - lastOpenWarning > 60_000) {
    lastOpenWarning = now;
    ctx.log.warn({ redis: ctx.redis.status }, "rate limits not enforced while Redis is away");
  }
  return { allowed: true, retryAfterMs: 0 };
}

// One line per principal a minute, so a runaway client cannot turn its 429s into a log flood.
const lastLogged = new Map<string, number>();
function logRefusalOnceAMinute(ctx: ApiContext, key: string, fields: Record<string, unknown>): void {
  const now = ctx.clock();
  if (now - (lastLogged.get(key) ?? -Infinity) < 60_000) return;
  if (lastLogged.size >= 10_000) lastLogged.clear();
  lastLogged.set(key, now);
  ctx.log.info(fields, "requests over their rate limit (logged once a minute)");
}

function refuse(decision: RateDecision, message: string, details: Record<string, unknown>): never {
  const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  throw new ApiError("rate_limited", `${message}: retry after ${seconds} s`, { ...details, retry_after_seconds: seconds }, { "retry-after": String(seconds) });
}

/** Spends one call of `who`'s budget; throws 429 with Retry-After when it is spent. */
export async function spendBudget(ctx: ApiContext, who: Principal, budget: BudgetName): Promise<void> {
  const shape = ctx.config.apiRateLimits[budget];
  const decision = await decide(ctx, () => ctx.rateLimiter.take(`u:${who.owner}`, budget, shape, ctx.clock()));
  if (decision.allowed) return;
  logRefusalOnceAMinute(ctx, `u:${who.owner}:${budget}`, { owner: who.owner, budget });
  refuse(decision, `Too many ${budget} requests from "${who.owner}"`, { budget, burst: shape.burst, per_second: shape.perSecond });
}

/** Throws 429 when the request's source address has used up its failed authentications. */
export async function checkAuthFailures(ctx: ApiContext, req: Request): Promise<void> {
  const shape = ctx.config.apiRateLimits.authFailures;
  const decision = await decide(ctx, () => ctx.rateLimiter.peek(`ip:${req.remoteAddress}`, "auth_failures", shape, ctx.clock()));
  // A token that authenticated lately on this instance is looked up anyway (recent_tokens.ts).
  if (decision.allowed || ctx.recentTokens.has(bearerToken(req), ctx.clock())) return;
  logRefusalOnceAMinute(ctx, `ip:${req.remoteAddress}`, { remote_address: req.remoteAddress, budget: "auth_failures" });
  refuse(decision, `Too many requests with a missing or wrong token from "${req.remoteAddress}"`, { budget: "auth_failures" });
}

/** Counts one failed authentication against the request's source address. */
export async function chargeAuthFailure(ctx: ApiContext, req: Request): Promise<void> {
  const shape = ctx.config.apiRateLimits.authFailures;
  await decide(ctx, () => ctx.rateLimiter.take(`ip:${req.remoteAddress}`, "auth_failures", shape, ctx.clock()));
}
