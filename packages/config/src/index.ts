// Configuration from the environment, read once at start-up. Every service takes the same
// names (README "Configuration"); tests build a Config directly with their own prefix,
// database and shrunken lease and heartbeat.
import { randomBytes } from "node:crypto";
import { DEFAULT_PART_BYTES, MAX_PART_BYTES, MIN_PART_BYTES } from "@labbridge/protocol";
import type { StorageConfig } from "@labbridge/storage";

/** Everything a LabBridge service needs to know about its surroundings. */
export interface Config {
  redisUrl: string;
  mysqlUrl: string;
  /** Prefix of every stream and key, so several deployments or tests share one Redis. */
  prefix: string;
  apiPort: number;
  gatewayPort: number;
  /** The scheduler's /metrics port (0 = any free port, logged at start). */
  schedulerMetricsPort: number;
  /** The lease reaper's /metrics port (0 = any free port, logged at start). */
  reaperMetricsPort: number;
  host: string;
  adminToken: string | null;
  leaseTtlSeconds: number;
  heartbeatSeconds: number;
  /**
   * Heartbeat interval of an agent that holds no attempt (decision 0028): three times
   * `heartbeatSeconds` unless set, so an idle fleet costs a third of the frames.
   */
  idleHeartbeatSeconds: number;
  /** This gateway's id: names its command stream. */
  gatewayId: string;
  /** Agent connections one gateway holds at most (a hard cap: memory, open files). */
  gatewayMaxAgents: number;
  /** Agent upgrades whose credential lookup one gateway has unanswered at once; more are refused (1013 with a retry hint). */
  gatewayAdmitInFlight: number;
  /** Hellos one gateway handles at once; the hellos of other open sockets wait their turn, in order. */
  gatewayHelloInFlight: number;
  storage: StorageConfig;
  /** How long presigned URLs live. */
  presignSeconds: number;
  /** Uploads larger than this go in parts of this size (grown when 10,000 parts would not hold the file). */
  uploadPartBytes: number;
  /** How often the scheduler sweeps MySQL for PENDING jobs whose stream entry was lost. */
  sweepSeconds: number;
  /** How often the API and gateway log their byte counters. */
  metricsLogSeconds: number;
  /** Folder of the built dashboard the API serves at / (null: the repository's web/dist). */
  webDir: string | null;
  logLevel: string;
  /** The API's per-principal request budgets, shared by its instances through Redis. */
  apiRateLimits: ApiRateLimits;
  /** Most Server-Sent Event streams one user may hold open on one API instance. */
  apiEventStreamsPerUser: number;
}

/** A token bucket: `burst` requests at once, then `perSecond`. */
export interface RateBudget {
  burst: number;
  perSecond: number;
}

/** The API's request budgets (docs/decisions/0018-api-rate-limits.md). */
export interface ApiRateLimits {
  /** GET calls of one user or admin. */
  read: RateBudget;
  /** Every other call of one user or admin: submits, cancels, uploads, admin changes. */
  write: RateBudget;
  /** Calls with a missing or wrong token from one source address, so token guessing is slow. */
  authFailures: RateBudget;
}

/** Default budgets: far above what a person, the CLI or the dashboard sends, low enough to stop a runaway loop. */
export const DEFAULT_API_RATE_LIMITS: ApiRateLimits = {
  read: { burst: 600, perSecond: 50 },
  write: { burst: 120, perSecond: 20 },
  authFailures: { burst: 20, perSecond: 0.2 },
};

function budget(env: NodeJS.ProcessEnv, name: string, fallback: RateBudget): RateBudget {
  return { burst: int(env, `LB_API_${name}_BURST`, fallback.burst), perSecond: num(env, `LB_API_${name}_PER_SECOND`, fallback.perSecond) };
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`Invalid ${name} "${raw}": expected a whole number of at least ${min}`);
  return n;
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`Invalid ${name} "${raw}": expected a positive number`);
  return n;
}

function partBytes(env: NodeJS.ProcessEnv): number {
  const n = int(env, "LB_UPLOAD_PART_BYTES", DEFAULT_PART_BYTES, MIN_PART_BYTES);
  if (n > MAX_PART_BYTES) throw new Error(`Invalid LB_UPLOAD_PART_BYTES "${n}": expected at most ${MAX_PART_BYTES} (5 GiB, the store's part limit)`);
  return n;
}

/** Development defaults for the local object store (infra/oss-local). */
export const DEV_STORAGE = {
  bucket: "labbridge",
  accessKeyId: "lb-dev-access-key",
  accessKeySecret: "lb-dev-secret",
} as const;

/** Reads the configuration from environment variables, failing loudly on a bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const ossPort = int(env, "LB_OSS_PORT", 9000);
  const endpoint = env.LB_OSS_ENDPOINT || `http://127.0.0.1:${ossPort}`;
  const prefix = env.LB_PREFIX || "lb";
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) throw new Error(`Invalid LB_PREFIX "${prefix}": use letters, digits, "_", "." or "-"`);
  const leaseTtlSeconds = num(env, "LB_LEASE_TTL_SECONDS", 30);
  const heartbeatSeconds = num(env, "LB_HEARTBEAT_SECONDS", 5);
  if (heartbeatSeconds * 2 > leaseTtlSeconds) {
    throw new Error(`Invalid LB_HEARTBEAT_SECONDS "${heartbeatSeconds}": must be at most half of LB_LEASE_TTL_SECONDS (${leaseTtlSeconds})`);
  }
  const idleHeartbeatSeconds = num(env, "LB_IDLE_HEARTBEAT_SECONDS", 3 * heartbeatSeconds);
  if (idleHeartbeatSeconds < heartbeatSeconds) {
    throw new Error(`Invalid LB_IDLE_HEARTBEAT_SECONDS "${idleHeartbeatSeconds}": must be at least LB_HEARTBEAT_SECONDS (${heartbeatSeconds})`);
  }
  return {
    redisUrl: env.LB_REDIS_URL || "redis://127.0.0.1:6379",
    mysqlUrl: env.LB_MYSQL_URL || "mysql://root@127.0.0.1:3306/labbridge",
    prefix,
    apiPort: int(env, "LB_API_PORT", 8080, 0),
    gatewayPort: int(env, "LB_GATEWAY_PORT", 8081, 0),
    schedulerMetricsPort: int(env, "LB_SCHEDULER_METRICS_PORT", 9464, 0),
    reaperMetricsPort: int(env, "LB_REAPER_METRICS_PORT", 9465, 0),
    host: env.LB_HOST || "0.0.0.0",
    adminToken: env.LB_ADMIN_TOKEN || null,
    leaseTtlSeconds,
    heartbeatSeconds,
    idleHeartbeatSeconds,
    gatewayId: env.LB_GATEWAY_ID || `gw-${randomBytes(4).toString("hex")}`,
    gatewayMaxAgents: int(env, "LB_GATEWAY_MAX_AGENTS", 50_000),
    gatewayAdmitInFlight: int(env, "LB_GATEWAY_ADMIT_IN_FLIGHT", 1000),
    gatewayHelloInFlight: int(env, "LB_GATEWAY_HELLO_IN_FLIGHT", 1000),
    storage: {
      endpoint,
      bucket: env.LB_OSS_BUCKET || DEV_STORAGE.bucket,
      accessKeyId: env.LB_OSS_ACCESS_KEY_ID || DEV_STORAGE.accessKeyId,
      accessKeySecret: env.LB_OSS_ACCESS_KEY_SECRET || DEV_STORAGE.accessKeySecret,
      // A custom endpoint (the local store, or a CNAME) is used as is; Aliyun's own endpoints
      // put the bucket in the host name.
      cname: env.LB_OSS_CNAME ? env.LB_OSS_CNAME === "true" : !/aliyuncs\.com/.test(endpoint),
      region: env.LB_OSS_REGION || undefined,
    },
    presignSeconds: int(env, "LB_PRESIGN_SECONDS", 3600, 10),
    uploadPartBytes: partBytes(env),
    sweepSeconds: num(env, "LB_SWEEP_SECONDS", 5),
    metricsLogSeconds: num(env, "LB_METRICS_LOG_SECONDS", 60),
    webDir: env.LB_WEB_DIR || null,
    logLevel: env.LB_LOG_LEVEL || "info",
    apiRateLimits: {
      read: budget(env, "READ", DEFAULT_API_RATE_LIMITS.read),
      write: budget(env, "WRITE", DEFAULT_API_RATE_LIMITS.write),
      authFailures: budget(env, "AUTH_FAILURE", DEFAULT_API_RATE_LIMITS.authFailures),
    },
    apiEventStreamsPerUser: int(env, "LB_API_EVENT_STREAMS_PER_USER", 20),
  };
}
