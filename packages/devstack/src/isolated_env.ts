// An isolated environment: its own key prefix and its own MariaDB database on the real
// servers, removed afterwards. Each test gets one (STYLE.md "Tests"), and so do `npm run
// demo` and the benchmark. Leases and heartbeats are shrunk unless overridden.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { DEV_STORAGE, loadConfig, type Config } from "@labbridge/config";
import { dropDatabase, migrate } from "@labbridge/store";

/** Redis that isolated environments use (LB_TEST_REDIS_URL); CI starts it on 127.0.0.1. */
export const TEST_REDIS_URL = process.env.LB_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
/** MySQL server (no database) that isolated environments make their database on (LB_TEST_MYSQL_SERVER). */
export const TEST_MYSQL_SERVER = process.env.LB_TEST_MYSQL_SERVER ?? "mysql://root@127.0.0.1:3306";

/** API budgets no suite comes near, so only the tests about limits meet them. */
export const GENEROUS_API_LIMITS: Record<string, string> = {
  LB_API_READ_BURST: "1000000", LB_API_READ_PER_SECOND: "1000000",
  LB_API_WRITE_BURST: "1000000", LB_API_WRITE_PER_SECOND: "1000000",
  LB_API_AUTH_FAILURE_BURST: "1000000", LB_API_AUTH_FAILURE_PER_SECOND: "1000000",
  LB_API_EVENT_STREAMS_PER_USER: "100000",
};

/** One test's isolated environment. */
export interface TestEnv {
  id: string;
  config: Config;
  /** Environment variables that make a child process use this environment. */
  env: Record<string, string>;
  cleanup: () => Promise<void>;
}

/** Creates a fresh prefix and migrated database named after `label`; `overrides` are LB_* variables. */
export async function createTestEnv(overrides: Record<string, string> = {}, label = "lbtest"): Promise<TestEnv> {
  const id = `t${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  const env: Record<string, string> = {
    LB_REDIS_URL: TEST_REDIS_URL,
    LB_MYSQL_URL: `${TEST_MYSQL_SERVER}/${label}_${id}`,
    LB_PREFIX: `${label}-${id}`,
    LB_ADMIN_TOKEN: `admin-${id}`,
    LB_API_PORT: "0",
    LB_GATEWAY_PORT: "0",
    LB_SCHEDULER_METRICS_PORT: "0",
    LB_REAPER_METRICS_PORT: "0",
    LB_HOST: "127.0.0.1",
    LB_GATEWAY_ID: `gw-${id}`,
    LB_LEASE_TTL_SECONDS: "3",
    LB_HEARTBEAT_SECONDS: "0.5",
    LB_SWEEP_SECONDS: "0.5",
    LB_LOG_LEVEL: process.env.LB_TEST_LOG_LEVEL ?? "warn",
    LB_OSS_BUCKET: DEV_STORAGE.bucket,
    // Suites, the demo and the bench offer far more than one person's load with one token;
    // the rate limit tests (api_rate_limits.test.ts) set small budgets of their own.
    ...GENEROUS_API_LIMITS,
    ...overrides,
  };
  const config = loadConfig(env);
  await migrate(config.mysqlUrl);
  return {
    id,
    config,
    env,
    cleanup: async () => {
      await dropDatabase(config.mysqlUrl);
      await deleteKeys(TEST_REDIS_URL, config.prefix);
    },
  };
}

/** Deletes every key of a prefix (streams `<p>:…` and hash-tagged `{<p>}:…`). */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== "0");
    }
  } finally {
    redis.disconnect();
  }
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

/** Every entry of a stream as a field → value map, as `redis-cli XRANGE` shows it. */
export async function streamEntries(redis: { xrange(key: string, start: string, end: string): Promise<[string, string[]][]> }, stream: string): Promise<Record<string, string>[]> {
  const raw = await redis.xrange(stream, "-", "+");
  return raw.map(([, f]) => {
    const m: Record<string, string> = {};
    for (let i = 0; i + 1 < f.length; i += 2) m[f[i]!] = f[i + 1]!;
    return m;
  });
}
