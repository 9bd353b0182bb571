// Redis connections. Blocking reads (XREADGROUP BLOCK) hold their connection, so each
// consumer loop gets its own; everything else shares one.
import { Redis } from "ioredis";

/**
 * Opens a Redis connection that retries forever with a capped backoff, as services must
 * outlive Redis restarts. `autoPipelining` sends the commands issued in one tick as one
 * write (the gateway: thousands of sessions each renewing presence at once).
 */
export function connectRedis(url: string, name: string, opts: { autoPipelining?: boolean } = {}): Redis {
  return new Redis(url, {
    connectionName: name,
    enableAutoPipelining: opts.autoPipelining ?? false,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
  });
}

export type { Redis } from "ioredis";
