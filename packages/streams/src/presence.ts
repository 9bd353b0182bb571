// Agent presence: which gateway holds an agent's socket now, under which session, and
// until when it counts as alive. A new session takes over only from one that went silent
// (claim), so a stolen credential cannot push a healthy agent off; every move is
// conditional on the session id, so a late disconnect of an old socket cannot knock
// out the new one. Each session carries its own heartbeat interval (`interval_ms`: the
// idle one while it holds no attempt, the busy one otherwise, decision 0028): whether it
// went silent is judged on that interval, not on one window for all.
import type { Redis } from "ioredis";
import { runScript } from "./run_script.ts";
import type { RedisKeys } from "./keys.ts";
import { renewHeartbeats, type TouchOutcome } from "./heartbeat_renewal.ts";

/**
 * A session counts as silent once it was not seen for this many of its own heartbeat
 * intervals. The agent gives up on a silent path after three, so an agent back from a
 * half-open link always finds its old session replaceable.
 */
export const SILENT_AFTER_INTERVALS = 2;

// KEYS[1] presence zset, KEYS[2] agent session hash
// ARGV[1] agent_id, ARGV[2] gateway_id, ARGV[3] session_id, ARGV[4] now (ms), ARGV[5] expires_at (ms),
// ARGV[6] interval_ms ('' for none)
// Returns the session id it replaced, or false.
const CONNECT = `
local old = redis.call('HGET', KEYS[2], 'session_id')
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'gateway_id', ARGV[2], 'session_id', ARGV[3], 'connected_since', ARGV[4], 'last_seen', ARGV[4])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], 'interval_ms', ARGV[6]) end
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
return old`;

// KEYS as CONNECT, and KEYS[3] the liveness key of gateway ARGV[8]. ARGV[1] agent_id,
// ARGV[2] gateway_id, ARGV[3] session_id, ARGV[4] now (ms), ARGV[5] expires_at (ms),
// ARGV[6] interval_ms of the new session, ARGV[7] silent after this many of a session's
// intervals, ARGV[8] a gateway id believed dead ('' for none): a session held by that
// gateway is not healthy when its liveness key is gone (the process died without ending
// its sessions), however recently it was seen.
// Returns {1, replaced session id or false, its gateway id or false} when this session now holds the agent, or
// {0, current session id, its gateway id, its last_seen} when a healthy session holds it.
// Healthy = still present (not expired) and seen within ARGV[7] of its own intervals (a
// session from before intervals were stored is judged on the new session's). One script,
// so of two racing hellos exactly one claims.
const CLAIM = `
local cur = redis.call('HMGET', KEYS[2], 'session_id', 'gateway_id', 'last_seen', 'interval_ms')
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local window = tonumber(ARGV[7]) * tonumber(cur[4] or ARGV[6])
local gatewayDead = ARGV[8] ~= '' and cur[2] == ARGV[8] and redis.call('EXISTS', KEYS[3]) == 0
if cur[1] and cur[1] ~= ARGV[3] and score and tonumber(score) > tonumber(ARGV[4])
   and tonumber(cur[3] or '0') > tonumber(ARGV[4]) - window and not gatewayDead then
  return {0, cur[1], cur[2] or '', cur[3] or '0'}
end
redis.call('HSET', KEYS[2], 'gateway_id', ARGV[2], 'session_id', ARGV[3], 'connected_since', ARGV[4], 'last_seen', ARGV[4], 'interval_ms', ARGV[6])
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
return {1, cur[1], cur[2]}`;

// ARGV[1] agent_id, ARGV[2] session_id, ARGV[3] interval_ms. Records the interval the
// session beats at, if it is still current; returns 1 when recorded.
const SET_INTERVAL = `
if redis.call('HGET', KEYS[2], 'session_id') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], 'interval_ms', ARGV[3])
return 1`;

// ARGV[1] agent_id, ARGV[2] session_id. Removes presence if the session is still current.
const DISCONNECT = `
if redis.call('HGET', KEYS[2], 'session_id') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1`;

// ARGV[1] agent_id, ARGV[2] now (ms), ARGV[3] CLAIMED score. The reaper's claim of a silent
// agent: if its presence is dead (score <= now), pin it dead and return its session id as
// it is at this instant ('' when none); else false (renewed). A heartbeat whose gateway read
// its clock before the expiry but reaches Redis after the reaper's listing would otherwise
// renew a presence that MySQL is about to call OFFLINE.
const CLAIM_EXPIRED = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return redis.call('HGET', KEYS[2], 'session_id') or ''`;

/** Score of a presence the reaper has claimed: below any clock's now, so no heartbeat renews it. */
export const CLAIMED_PRESENCE_SCORE = -1;

// ARGV[1] agent_id, ARGV[2] session_id, ARGV[3] now. Removes presence only if it is still
// expired and still that session (the reaper, after marking the agent OFFLINE).
const REMOVE_EXPIRED = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[3]) then return 0 end
if redis.call('HGET', KEYS[2], 'session_id') == ARGV[2] then redis.call('DEL', KEYS[2]) end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1`;

/** Where an agent is connected. */
export interface AgentSession {
  agentId: string;
  gatewayId: string;
  sessionId: string;
  connectedSince: number;
  lastSeen: number;
  /** The heartbeat interval the session beats at now (ms), or null when none was recorded (connect() without one). */
  intervalMs: number | null;
}

/** What a claim found: this session holds the agent now, or a healthy one does. */
export type ClaimResult =
  | { claimed: true; replaced: { sessionId: string; gatewayId: string } | null }
  | { claimed: false; current: { sessionId: string; gatewayId: string; lastSeen: number } };

/** Presence moves, each one atomic script. */
export class Presence {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  private run(script: string, agentId: string, args: (string | number)[]): Promise<unknown> {
    return runScript(this.redis, script, 2, this.keys.presence, this.keys.agentSession(agentId), agentId, ...args);
  }

  /** Records a new session unconditionally (tools and tests); returns the session it replaced, if any. Gateways claim(). */
  async connect(agentId: string, gatewayId: string, sessionId: string, now: number, expiresAt: number, intervalMs?: number): Promise<string | null> {
    return ((await this.run(CONNECT, agentId, [gatewayId, sessionId, now, expiresAt, intervalMs ?? ""])) as string | null) ?? null;
  }

  /**
   * Records a new session, beating every `intervalMs`, unless a healthy one holds the
   * agent: one seen within SILENT_AFTER_INTERVALS of its own interval whose presence has
   * not expired. A silent, expired or cleanly closed session is replaced (returned as `replaced`).
   */
  async claim(
    agentId: string,
    gatewayId: string,
    sessionId: string,
    now: number,
    expiresAt: number,
    intervalMs: number,
  ): Promise<ClaimResult> {
    const attempt = async (deadGateway: string) => {
      const r = (await runScript(this.redis, CLAIM, 3, this.keys.presence, this.keys.agentSession(agentId), this.keys.gatewayAlive(deadGateway || gatewayId),
        agentId, gatewayId, sessionId, now, expiresAt, intervalMs, SILENT_AFTER_INTERVALS, deadGateway)) as (string | number | null)[];
      if (r[0] === 1) return { claimed: true, replaced: r[1] ? { sessionId: String(r[1]), gatewayId: String(r[2] ?? "") } : null } as const;
      return { claimed: false, current: { sessionId: String(r[1]), gatewayId: String(r[2]), lastSeen: Number(r[3]) } } as const;
    };
    const first = await attempt("");
    // Refused (rare: another session looks healthy): if that session's gateway has died,
    // claim again in one script that re-checks everything and replaces it only if it is
    // still held by that dead gateway. A normal hello pays no extra round trip.
    if (first.claimed || !first.current.gatewayId || first.current.gatewayId === gatewayId) return first;
    if ((await this.redis.exists(this.keys.gatewayAlive(first.current.gatewayId))) === 1) return first;
    return attempt(first.current.gatewayId);
  }

  /**
   * Renews presence (and the TTL of the agent's readings) as one heartbeat does, recording
   * the interval the session beats at from now on: "renewed", "replaced" by another
   * session, or "expired" (say hello again). Gateways renew in batches (heartbeat_renewal.ts).
   */
  async touch(agentId: string, sessionId: string, now: number, expiresAt: number, intervalMs: number): Promise<TouchOutcome> {
    const [outcome] = await renewHeartbeats(this.redis, this.keys, [{ agentId, sessionId, now, expiresAt, intervalMs }]);
    return outcome!;
  }

  /**
   * Records the interval a session beats at from now on, without renewing it (the gateway
   * handing it an assignment: it beats at the busy interval from here). False when that
   * session is no longer the agent's current one.
   */
  async setInterval(agentId: string, sessionId: string, intervalMs: number): Promise<boolean> {
    return (await this.run(SET_INTERVAL, agentId, [sessionId, intervalMs])) === 1;
  }

  /**
   * Says this gateway process is alive for `ttlMs` more (it renews this well within the
   * TTL). A session whose gateway's key ran out is replaceable at once (the claim above):
   * a gateway killed without ending its sessions does not keep its agents out for two of
   * their intervals, 30 s for an idle one.
   */
  async markGatewayAlive(gatewayId: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.gatewayAlive(gatewayId), "1", "PX", Math.max(1, Math.round(ttlMs)));
  }

  /** A gateway that stopped (after ending its sessions) is no longer alive. */
  async markGatewayGone(gatewayId: string): Promise<void> {
    await this.redis.del(this.keys.gatewayAlive(gatewayId));
  }

  /** Removes presence for a closed socket, if it is still the current session. */
  async disconnect(agentId: string, sessionId: string): Promise<boolean> {
    return (await this.run(DISCONNECT, agentId, [sessionId])) === 1;
  }

  /**
   * Claims a silent agent's dead presence for the reaper: from then on its heartbeats are
   * refused ("expired"). Returns the session id it had ("" when none), or null when it is live.
   */
  async claimExpired(agentId: string, now: number): Promise<string | null> {
    return ((await this.run(CLAIM_EXPIRED, agentId, [now, CLAIMED_PRESENCE_SCORE])) as string | null) ?? null;
  }

  /** Removes presence of a silent agent, if it is still expired. */
  async removeExpired(agentId: string, sessionId: string, now: number): Promise<boolean> {
    return (await this.run(REMOVE_EXPIRED, agentId, [sessionId, now])) === 1;
  }

  /** The agent's current session, or null. */
  async session(agentId: string): Promise<AgentSession | null> {
    const h = await this.redis.hgetall(this.keys.agentSession(agentId));
    if (!h.session_id || !h.gateway_id) return null;
    return {
      agentId,
      gatewayId: h.gateway_id,
      sessionId: h.session_id,
      connectedSince: Number(h.connected_since),
      lastSeen: Number(h.last_seen),
      intervalMs: h.interval_ms ? Number(h.interval_ms) : null,
    };
  }

  /** Agents whose presence ran out at or before `now`, with their last session id. */
  async expired(now: number, limit: number): Promise<{ agentId: string; sessionId: string | null }[]> {
    const ids = await this.redis.zrangebyscore(this.keys.presence, "-inf", now, "LIMIT", 0, limit);
    return Promise.all(ids.map(async (agentId) => ({ agentId, sessionId: await this.redis.hget(this.keys.agentSession(agentId), "session_id") })));
  }
}
