// What every service holds: configuration, a logger, one shared Redis connection, a MySQL
// pool, the stream names, the lease and presence scripts, and the clock. Tests build the
// same object with their own prefix, database and clock.
import type { Config } from "@labbridge/config";
import { createLogger, type Logger } from "@labbridge/logging";
import { streamNames } from "@labbridge/protocol";
import { createPool, type Pool } from "@labbridge/store";
import { AgentTelemetry, connectRedis, Leases, Presence, redisKeys, type Redis } from "@labbridge/streams";
import { type Clock, systemClock } from "./clock.ts";

/** Shared dependencies of a service. */
export interface ServiceContext {
  config: Config;
  log: Logger;
  redis: Redis;
  pool: Pool;
  streams: ReturnType<typeof streamNames>;
  leases: Leases;
  presence: Presence;
  /** Live GPU and host readings of connected agents (hot, expiring). */
  telemetry: AgentTelemetry;
  clock: Clock;
  /** A fresh connection for a loop that blocks on XREADGROUP. */
  blockingRedis: (name: string) => Redis;
  close: () => Promise<void>;
}

/** Builds the context of one service process. */
export function createContext(service: string, config: Config, opts: { clock?: Clock; log?: Logger; autoPipelining?: boolean } = {}): ServiceContext {
  const log = opts.log ?? createLogger(service, config.logLevel);
  const redis = connectRedis(config.redisUrl, `${config.prefix}:${service}`, { autoPipelining: opts.autoPipelining });
  const extra: Redis[] = [];
  // Connection errors are retried by ioredis; one warn line per error burst is enough.
  redis.on("error", (err) => log.warn({ err: err.message }, "redis connection error"));
  const pool = createPool(config.mysqlUrl);
  const keys = redisKeys(config.prefix);
  return {
    config,
    log,
    redis,
    pool,
    streams: streamNames(config.prefix),
    leases: new Leases(redis, keys),
    presence: new Presence(redis, keys),
    telemetry: new AgentTelemetry(redis, keys),
    clock: opts.clock ?? systemClock,
    blockingRedis: (name) => {
      const r = connectRedis(config.redisUrl, `${config.prefix}:${service}:${name}`);
      r.on("error", (err) => log.warn({ err: err.message, connection: name }, "redis connection error"));
      extra.push(r);
      return r;
    },
    close: async () => {
      for (const r of [...extra, redis]) r.disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}
