import { describe, expect, it } from "vitest";
import { DEFAULT_API_RATE_LIMITS, DEV_STORAGE, loadConfig } from "@labbridge/config";

describe("loadConfig", () => {
  it("fills in the documented defaults from an empty environment", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      redisUrl: "redis://127.0.0.1:6379",
      prefix: "lb",
      apiPort: 8080,
      gatewayPort: 8081,
      schedulerMetricsPort: 9464,
      reaperMetricsPort: 9465,
      adminToken: null,
      leaseTtlSeconds: 30,
      heartbeatSeconds: 5,
      idleHeartbeatSeconds: 15,
      presignSeconds: 3600,
      uploadPartBytes: 64 * 1024 ** 2,
      sweepSeconds: 5,
      logLevel: "info",
    });
    expect(c.storage).toMatchObject({ endpoint: "http://127.0.0.1:9000", bucket: DEV_STORAGE.bucket, cname: true });
    expect(c.gatewayId).toMatch(/^gw-[0-9a-f]{8}$/);
  });

  it("reads every variable it is given", () => {
    const c = loadConfig({
      LB_REDIS_URL: "redis://r:1", LB_MYSQL_URL: "mysql://m/db", LB_PREFIX: "t-1", LB_API_PORT: "0", LB_GATEWAY_PORT: "9",
      LB_ADMIN_TOKEN: "adm", LB_LEASE_TTL_SECONDS: "3", LB_HEARTBEAT_SECONDS: "0.5", LB_GATEWAY_ID: "gw-a", LB_PRESIGN_SECONDS: "60",
      LB_SCHEDULER_METRICS_PORT: "0", LB_REAPER_METRICS_PORT: "19465",
    });
    expect(c).toMatchObject({ schedulerMetricsPort: 0, reaperMetricsPort: 19465 });
    expect(c).toMatchObject({
      redisUrl: "redis://r:1", mysqlUrl: "mysql://m/db", prefix: "t-1", apiPort: 0, gatewayPort: 9, adminToken: "adm",
      leaseTtlSeconds: 3, heartbeatSeconds: 0.5, gatewayId: "gw-a", presignSeconds: 60,
    });
  });

  it("takes an idle heartbeat of three heartbeats unless set, and refuses one shorter than the heartbeat", () => {
    expect(loadConfig({ LB_HEARTBEAT_SECONDS: "0.5", LB_LEASE_TTL_SECONDS: "3" }).idleHeartbeatSeconds).toBe(1.5);
    expect(loadConfig({ LB_IDLE_HEARTBEAT_SECONDS: "20" }).idleHeartbeatSeconds).toBe(20);
    expect(() => loadConfig({ LB_IDLE_HEARTBEAT_SECONDS: "4" })).toThrow("Invalid LB_IDLE_HEARTBEAT_SECONDS");
  });

  it("takes an upload part size from 100 KiB to 5 GiB and refuses one outside", () => {
    expect(loadConfig({ LB_UPLOAD_PART_BYTES: String(5 * 1024 ** 2) }).uploadPartBytes).toBe(5 * 1024 ** 2);
    for (const v of ["1000", String(5 * 1024 ** 3 + 1), "big"]) {
      expect(() => loadConfig({ LB_UPLOAD_PART_BYTES: v }), v).toThrow("Invalid LB_UPLOAD_PART_BYTES");
    }
  });

  it("refuses ports that are not whole non-negative numbers", () => {
    for (const v of ["abc", "-1", "1.5", "8080x"]) expect(() => loadConfig({ LB_API_PORT: v }), v).toThrow(`Invalid LB_API_PORT "${v}"`);
  });

  it("refuses a lease TTL or heartbeat that is not a positive number", () => {
    for (const v of ["0", "-3", "soon", "Infinity"]) expect(() => loadConfig({ LB_LEASE_TTL_SECONDS: v }), v).toThrow(`Invalid LB_LEASE_TTL_SECONDS "${v}"`);
    expect(() => loadConfig({ LB_HEARTBEAT_SECONDS: "0" })).toThrow('Invalid LB_HEARTBEAT_SECONDS "0"');
  });

  it("refuses a heartbeat longer than half the lease TTL", () => {
    expect(() => loadConfig({ LB_LEASE_TTL_SECONDS: "10", LB_HEARTBEAT_SECONDS: "6" })).toThrow(/must be at most half of LB_LEASE_TTL_SECONDS/);
    expect(() => loadConfig({ LB_HEARTBEAT_SECONDS: "20" })).toThrow(/Invalid LB_HEARTBEAT_SECONDS "20"/);
    expect(loadConfig({ LB_LEASE_TTL_SECONDS: "10", LB_HEARTBEAT_SECONDS: "5" }).heartbeatSeconds).toBe(5);
  });

  it("refuses a prefix that could break key names", () => {
    for (const p of ["a:b", "a b", "{tag}", "x".repeat(65)]) expect(() => loadConfig({ LB_PREFIX: p }), p).toThrow(/Invalid LB_PREFIX/);
  });

  it("refuses presigned URLs that live under ten seconds", () => {
    expect(() => loadConfig({ LB_PRESIGN_SECONDS: "5" })).toThrow(/Invalid LB_PRESIGN_SECONDS "5"/);
  });

  it("puts the bucket in the host name only for Aliyun endpoints", () => {
    expect(loadConfig({ LB_OSS_ENDPOINT: "https://oss-cn-hangzhou.aliyuncs.com" }).storage.cname).toBe(false);
    expect(loadConfig({ LB_OSS_ENDPOINT: "http://127.0.0.1:9100" }).storage.cname).toBe(true);
    expect(loadConfig({ LB_OSS_ENDPOINT: "https://oss-cn-hangzhou.aliyuncs.com", LB_OSS_CNAME: "true" }).storage.cname).toBe(true);
  });

  it("has API rate limits and a stream cap by default, each overridable from the environment", () => {
    expect(loadConfig({}).apiRateLimits).toEqual(DEFAULT_API_RATE_LIMITS);
    expect(loadConfig({}).apiEventStreamsPerUser).toBe(20);
    const c = loadConfig({ LB_API_READ_BURST: "5", LB_API_READ_PER_SECOND: "0.5", LB_API_WRITE_BURST: "7", LB_API_AUTH_FAILURE_PER_SECOND: "2", LB_API_EVENT_STREAMS_PER_USER: "3" });
    expect(c.apiRateLimits).toEqual({ read: { burst: 5, perSecond: 0.5 }, write: { burst: 7, perSecond: DEFAULT_API_RATE_LIMITS.write.perSecond }, authFailures: { burst: DEFAULT_API_RATE_LIMITS.authFailures.burst, perSecond: 2 } });
    expect(c.apiEventStreamsPerUser).toBe(3);
    expect(() => loadConfig({ LB_API_READ_BURST: "0" })).toThrow('Invalid LB_API_READ_BURST "0"');
    expect(() => loadConfig({ LB_API_WRITE_PER_SECOND: "-1" })).toThrow('Invalid LB_API_WRITE_PER_SECOND "-1"');
  });
});
