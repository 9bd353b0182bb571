// Redis key names. Hot state (leases, presence) carries the prefix as a hash tag, so each
// atomic script touches one hash slot, also under Redis Cluster.

/** Every Redis key and stream name of one deployment prefix. */
export function redisKeys(prefix: string) {
  const tag = `{${prefix}}`;
  return {
    /** ZSET attempt_id → lease expiry (ms since epoch). */
    leases: `${tag}:leases`,
    /** HASH attempt_id → "agent_id|job_id|started" (started: 0 or 1). */
    leaseHolders: `${tag}:lease-holders`,
    /** ZSET agent_id → presence expiry (ms). */
    presence: `${tag}:presence`,
    /** HASH of one connected agent: gateway_id, session_id, connected_since, last_seen. */
    agentSession: (agentId: string) => `${tag}:agent:${agentId}`,
    /** STRING set while a gateway process lives (renewed by it, expiring soon after it dies): presence.ts. */
    gatewayAlive: (gatewayId: string) => `${tag}:gateway-alive:${gatewayId}`,
    /** HASH of one connected agent's live readings: `g:<index>` GPU readings, `h` host reading (JSON); expires with its heartbeats. */
    agentTelemetry: (agentId: string) => `${tag}:telemetry:${agentId}`,
  };
}

/** Type of the redisKeys result. */
export type RedisKeys = ReturnType<typeof redisKeys>;
