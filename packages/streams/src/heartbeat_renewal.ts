// What a heartbeat renews in Redis, for many heartbeats in one script: each entry renews
// its agent's presence and live readings exactly as one heartbeat would, fenced on its own
// session, so a batch is only a cheaper way to make the same moves (decision 0028). At
// 100,000 agents two scripts per heartbeat were most of the gateway's CPU and garbage.
import type { Redis } from "ioredis";
import { runScript } from "./run_script.ts";
import type { RedisKeys } from "./keys.ts";
import { telemetryPairs, type TelemetryUpdate } from "./telemetry.ts";

// KEYS[1] presence zset; then per entry i (from 0): KEYS[2 + 2i] its agent session hash,
// KEYS[3 + 2i] its agent telemetry hash.
// ARGV per entry, one after another: agent_id, session_id, now (ms), expires_at (ms),
// interval_ms, replace ('1': drop the readings held first, '0': merge), n (field/value
// pairs that follow), then the n pairs.
// Returns one code per entry, in order: 1 renewed, 0 another session replaced this one,
// 2 this session already expired (the reaper may be marking it OFFLINE right now, so the
// agent must say hello again rather than be revived silently while MySQL says OFFLINE).
// Readings are written and renewed only for a renewed session, for as long as its presence.
const RENEW = `
local codes = {}
local a = 1
local k = 2
while a <= #ARGV do
  local agent, session, now, expires = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3]
  local n = tonumber(ARGV[a + 6])
  local current = redis.call('HGET', KEYS[k], 'session_id')
  local code = 1
  if current and current ~= session then
    code = 0
  else
    local score = redis.call('ZSCORE', KEYS[1], agent)
    if not current or not score or tonumber(score) <= now then code = 2 end
  end
  if code == 1 then
    redis.call('HSET', KEYS[k], 'last_seen', ARGV[a + 2], 'interval_ms', ARGV[a + 4])
    redis.call('ZADD', KEYS[1], expires, agent)
    if ARGV[a + 5] == '1' then redis.call('DEL', KEYS[k + 1]) end
    if n > 0 then redis.call('HSET', KEYS[k + 1], unpack(ARGV, a + 7, a + 6 + 2 * n)) end
    redis.call('PEXPIRE', KEYS[k + 1], math.max(1, tonumber(expires) - now))
  end
  codes[#codes + 1] = code
  a = a + 7 + 2 * n
  k = k + 2
end
return codes`;

/** One heartbeat's renewal: its session, its clock reading, and the presence it asks for. */
export interface HeartbeatRenewal {
  agentId: string;
  sessionId: string;
  now: number;
  /** Presence expiry (ms); the readings live as long. */
  expiresAt: number;
  /** The interval the session beats at from now on (ms): the claim judges its silence on it. */
  intervalMs: number;
  /** Readings the heartbeat carries (only what changed), if any. */
  telemetry?: TelemetryUpdate;
}

/** What a renewal found: "renewed", "replaced" by another session, or "expired" (say hello again). */
export type TouchOutcome = "renewed" | "replaced" | "expired";

/** Renews presence and readings for every entry in one script; one outcome per entry, in order. */
export async function renewHeartbeats(redis: Redis, keys: RedisKeys, entries: readonly HeartbeatRenewal[]): Promise<TouchOutcome[]> {
  if (entries.length === 0) return [];
  const keyList: string[] = [keys.presence];
  const args: (string | number)[] = [];
  for (const e of entries) {
    keyList.push(keys.agentSession(e.agentId), keys.agentTelemetry(e.agentId));
    const pairs = e.telemetry ? telemetryPairs(e.telemetry) : [];
    args.push(e.agentId, e.sessionId, e.now, e.expiresAt, e.intervalMs, e.telemetry?.replace ? "1" : "0", pairs.length / 2, ...pairs);
  }
  const codes = (await runScript(redis, RENEW, keyList.length, ...keyList, ...args)) as number[];
  return codes.map((c) => (c === 1 ? "renewed" : c === 0 ? "replaced" : "expired"));
}
