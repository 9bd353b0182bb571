// Redis plumbing shared by the services: connections, stream writes, consumer groups,
// and the atomic lease, presence and rate-limit scripts.
export * from "./append.ts";
export * from "./consume_group.ts";
export * from "./redis.ts";
export * from "./redis_errors.ts";
export * from "./keys.ts";
export * from "./leases.ts";
export * from "./presence.ts";
export * from "./heartbeat_renewal.ts";
export * from "./rate_limits.ts";
export * from "./telemetry.ts";
