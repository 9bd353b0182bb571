import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { startApi, type RunningApi } from "@labbridge/api";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";
import { apiCaller, expectError } from "./api_client.ts";

// Per-principal rate limits (429 + Retry-After) in Redis, shared by API instances, a budget
// for failed authentications per source address, and the cap on open event streams per
// user. Budgets are small and the clock is injected, so refills happen when the test says.

const T0 = Date.UTC(2025, 0, 1, 12);
let env: TestEnv;
let api: RunningApi;
let base: string;
let now: number;
let redis: Redis;
const closers: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  env = await createTestEnv({
    LB_API_READ_BURST: "3", LB_API_READ_PER_SECOND: "1",
    LB_API_WRITE_BURST: "2", LB_API_WRITE_PER_SECOND: "0.5",
    LB_API_AUTH_FAILURE_BURST: "3", LB_API_AUTH_FAILURE_PER_SECOND: "0.1",
    LB_API_EVENT_STREAMS_PER_USER: "2",
  });
  now = T0;
  api = await startApi(env.config, { clock: () => now });
  base = `http://127.0.0.1:${api.port}`;
  redis = new Redis(env.config.redisUrl);
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await api.close();
  redis.disconnect();
  await env.cleanup();
});

const call = apiCaller(() => base, () => env.config.adminToken!);

// Tokens are minted in MySQL directly: minting through the API would spend the admin's writes.
async function userToken(owner: string): Promise<string> {
  const { createApiToken } = await import("@labbridge/store");
  const minted = await createApiToken(api.ctx.pool, { owner, role: "user", ttlSeconds: 3600, now: new Date(now), by: { actor: "admin", role: "admin", requestId: null } });
  return minted.token;
}

describe("per-principal budgets", () => {
  it("reads past the burst get 429 rate_limited with Retry-After, and the bucket refills with time", async () => {
    for (let i = 0; i < 3; i++) expect((await call("GET", "/v1/jobs")).status).toBe(200);
    const a = await call("GET", "/v1/jobs");
    const err = expectError(a, 429, "rate_limited");
    expect(a.headers.get("retry-after")).toBe("1");
    expect(err.details).toMatchObject({ budget: "read", burst: 3, per_second: 1, retry_after_seconds: 1 });
    now += 999;
    expectError(await call("GET", "/v1/jobs"), 429, "rate_limited");
    now += 1;
    expect((await call("GET", "/v1/jobs")).status).toBe(200);
  });

  it("submits spend the write budget, not the reads, and a refused submit creates nothing", async () => {
    for (let i = 0; i < 2; i++) expect((await call("POST", "/v1/jobs", { body: { command: ["x"] } })).status).toBe(201);
    const a = await call("POST", "/v1/jobs", { body: { command: ["x"] } });
    expectError(a, 429, "rate_limited");
    expect(a.headers.get("retry-after")).toBe("2");
    const list = await call("GET", "/v1/jobs");
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
  });

  it("one principal's spent budget does not limit another", async () => {
    const bob = await userToken("bob");
    for (let i = 0; i < 3; i++) await call("GET", "/v1/jobs", { token: bob });
    expectError(await call("GET", "/v1/jobs", { token: bob }), 429, "rate_limited");
    expect((await call("GET", "/v1/jobs")).status).toBe(200);
  });

  it("the budget is shared by every API instance on the same Redis and prefix", async () => {
    const other = await startApi(env.config, { clock: () => now });
    closers.push(other.close);
    const url = `http://127.0.0.1:${other.port}`;
    await call("GET", "/v1/jobs");
    await call("GET", "/v1/jobs", { url });
    await call("GET", "/v1/jobs");
    expectError(await call("GET", "/v1/jobs", { url }), 429, "rate_limited");
  });

  it("a principal's buckets live under the prefix, hash-tagged by the principal", async () => {
    await call("GET", "/v1/jobs");
    await call("POST", "/v1/jobs", { body: { command: ["x"] } });
    const keys = (await redis.keys(`${env.config.prefix}:rl:*`)).sort();
    expect(keys).toEqual([`${env.config.prefix}:rl:{u:admin}:read`, `${env.config.prefix}:rl:{u:admin}:write`]);
    expect(await redis.pttl(keys[0]!)).toBeGreaterThan(0);
  });

  it("service endpoints are not limited", async () => {
    for (let i = 0; i < 10; i++) expect((await call("GET", "/healthz", { token: null })).status).toBe(200);
  });
});

describe("failed authentications per source address", () => {
  it("after the burst of bad tokens from one address, the next call is 429 before its token is looked up", async () => {
    for (let i = 0; i < 3; i++) expectError(await call("GET", "/v1/jobs", { token: `wrong-${i}` }), 401, "invalid_token");
    const a = await call("GET", "/v1/jobs", { token: "wrong-3" });
    expectError(a, 429, "rate_limited");
    expect(Number(a.headers.get("retry-after"))).toBe(10);
    // A missing header counts as a failure too, and is refused the same way now.
    expectError(await call("GET", "/v1/jobs", { token: null }), 429, "rate_limited");
    // A good token this instance has not seen lately waits too: the price of checking before the lookup.
    const bob = await userToken("bob");
    expectError(await call("GET", "/v1/jobs", { token: bob }), 429, "rate_limited");
    now += 10_000;
    expect((await call("GET", "/v1/jobs", { token: bob })).status).toBe(200);
  });

  it("a token that authenticated lately still gets through while its address is over the failure budget", async () => {
    expect((await call("GET", "/v1/jobs")).status).toBe(200);
    for (let i = 0; i < 3; i++) expectError(await call("GET", "/v1/jobs", { token: `wrong-${i}` }), 401, "invalid_token");
    expectError(await call("GET", "/v1/jobs", { token: "wrong-3" }), 429, "rate_limited");
    now += 1_000;
    expect((await call("GET", "/v1/jobs")).status).toBe(200);
    // Ten minutes later it is no longer "lately": it waits like any other call from there.
    now += 10 * 60_000;
    for (let i = 0; i < 3; i++) await call("GET", "/v1/jobs", { token: `wrong-again-${i}` });
    expectError(await call("GET", "/v1/jobs"), 429, "rate_limited");
  });

  it("calls with a good token never spend the address's failure budget", async () => {
    for (let i = 0; i < 3; i++) expect((await call("GET", "/v1/jobs")).status).toBe(200);
    for (let i = 0; i < 3; i++) expectError(await call("GET", "/v1/jobs", { token: "wrong" }), 401, "invalid_token");
  });
});

describe("open event streams per user", () => {
  async function openStream(jobId: string) {
    const ctl = new AbortController();
    const res = await fetch(`${base}/v1/jobs/${jobId}/events`, { headers: { authorization: `Bearer ${env.config.adminToken}` }, signal: ctl.signal });
    return { res, close: () => ctl.abort() };
  }

  it("over the cap a stream is refused with 429 and a clear message; a closed stream frees its slot", async () => {
    // Streams are reads too: the clock moves between calls so the read budget never interferes.
    const job = await call("POST", "/v1/jobs", { body: { command: ["x"] } });
    now += 10_000;
    const first = await openStream(job.body.id);
    const second = await openStream(job.body.id);
    expect([first.res.status, second.res.status]).toEqual([200, 200]);
    expect(api.ctx.eventStreams.count("admin")).toBe(2);
    now += 10_000;
    const third = await fetch(`${base}/v1/jobs/${job.body.id}/events`, { headers: { authorization: `Bearer ${env.config.adminToken}` } });
    const text = await third.text();
    const err = expectError({ status: third.status, headers: third.headers, body: JSON.parse(text), text }, 429, "rate_limited");
    expect(err.message).toBe('Too many open event streams for "admin": at most 2 at once; close one first');
    expect(third.headers.get("retry-after")).toBe("5");

    first.close();
    await waitFor(() => api.ctx.eventStreams.count("admin") === 1, 10_000, "the closed stream's slot to be freed");
    now += 10_000;
    const again = await openStream(job.body.id);
    expect(again.res.status).toBe(200);
    again.close();
    second.close();
    await waitFor(() => api.ctx.eventStreams.count("admin") === 0, 10_000, "every slot to be freed");
  });

  it("a stream that ends with its job frees its slot", async () => {
    const job = await call("POST", "/v1/jobs", { body: { command: ["x"] } });
    now += 10_000;
    const s = await openStream(job.body.id);
    expect(api.ctx.eventStreams.count("admin")).toBe(1);
    // A canceled PENDING job is final once the scheduler applies it; here MySQL is set directly.
    await api.ctx.pool.execute("UPDATE jobs SET state = 'CANCELED' WHERE id = ?", [job.body.id]);
    const { appendEntry } = await import("@labbridge/streams");
    await appendEntry(redis, api.ctx.streams.jobEvents, { type: "job.state_changed", job_id: job.body.id, data: { from: "PENDING", to: "CANCELED", cause: "canceled" } });
    await s.res.text();
    await waitFor(() => api.ctx.eventStreams.count("admin") === 0, 10_000, "the ended stream's slot to be freed");
  });
});
