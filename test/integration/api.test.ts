import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { startApi } from "@labbridge/api";
import { loadConfig } from "@labbridge/config";
import { createLogger } from "@labbridge/logging";
import { startScheduler, type RunningScheduler } from "@labbridge/scheduler";
import { assignJob, finishAttempt, listAudit, markAgentOnline, startAttempt } from "@labbridge/store";
import { streamEntries, waitFor } from "../harness/test_env.ts";
import { expectError, startApiFixture, type Answer, type ApiFixture } from "./api_fixture.ts";

// The HTTP API over a real socket (uWebSockets.js) against real Redis and MariaDB, called
// with fetch as a client would (api_fixture.ts). The clock is injected, so every time in an
// answer is known.

const T0 = Date.UTC(2025, 0, 1, 12);
const silent = createLogger("api-test", "silent");

let f: ApiFixture;
let redis: Redis;
const closers: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  f = await startApiFixture(T0);
  redis = new Redis(f.env.config.redisUrl);
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  redis.disconnect();
  await f.close();
});

async function submit(body: Record<string, unknown> = {}, token: string = f.admin) {
  return await f.submit(token, body);
}

async function userToken(owner: string): Promise<string> {
  return (await f.mint(owner)).token;
}

async function metricValue(name: string): Promise<number> {
  const text = (await f.call("GET", "/metrics", { token: null })).text;
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (!line) throw new Error(`metric ${name} not found`);
  return Number(line.split(" ").pop());
}

const entries = (stream: string) => streamEntries(redis, stream);

describe("authentication", () => {
  it("a call without a token is refused with 401 unauthenticated", async () => {
    expectError(await f.call("GET", "/v1/jobs", { token: null }), 401, "unauthenticated");
    expectError(await f.call("POST", "/v1/jobs", { token: null, body: { command: ["x"] } }), 401, "unauthenticated");
  });

  it("a call with a wrong token is refused with 401 invalid_token", async () => {
    expectError(await f.call("GET", "/v1/jobs", { token: "not-the-token" }), 401, "invalid_token");
    expectError(await f.call("GET", "/v1/jobs", { token: "lbu_forged" }), 401, "invalid_token");
  });

  it("a token in the query string or under another scheme is not accepted", async () => {
    expectError(await f.call("GET", `/v1/jobs?token=${f.admin}`, { token: null }), 401, "unauthenticated");
    expectError(await f.call("GET", "/v1/jobs", { token: null, headers: { authorization: `Basic ${f.admin}` } }), 401, "unauthenticated");
  });

  it("a call that fails authentication creates nothing", async () => {
    await f.call("POST", "/v1/jobs", { token: "wrong", body: { command: ["x"] } });
    expect((await f.call("GET", "/v1/jobs")).body.items).toEqual([]);
    expect(await redis.exists(f.api.ctx.streams.jobs)).toBe(0);
  });
});

describe("POST /v1/jobs", () => {
  it("creates a PENDING job with defaults, RFC 3339 times and its submission in the history", async () => {
    f.now = T0 + 1234;
    const a = await f.call("POST", "/v1/jobs", { body: { command: ["python", "train.py"], name: "resnet" } });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({
      id: expect.stringMatching(/^job_[0-9A-Z]{26}$/), name: "resnet", state: "PENDING", command: ["python", "train.py"], env: {}, inputs: [],
      requirements: {}, timeout_seconds: 86_400, max_attempts: 1, owner: "admin", attempts: [], outputs: [],
      created_at: new Date(T0 + 1234).toISOString(), updated_at: new Date(T0 + 1234).toISOString(),
      history: [{ state: "PENDING", at: new Date(T0 + 1234).toISOString(), cause: "submitted" }],
    });
    expect((await f.call("GET", `/v1/jobs/${a.body.id}`)).body).toEqual(a.body);
  });

  it("malformed JSON is refused with 400 malformed_json", async () => {
    expectError(await f.call("POST", "/v1/jobs", { raw: '{"command": ["x"' }), 400, "malformed_json");
    expectError(await f.call("POST", "/v1/jobs", { raw: "" }), 400, "malformed_json");
  });

  it("an empty command is refused with 422 validation_failed naming the field", async () => {
    const err = expectError(await f.call("POST", "/v1/jobs", { body: { command: [] } }), 422, "validation_failed");
    expect(err.details.problems).toEqual([{ field: "command", reason: expect.any(String) }]);
  });

  it("an input path with .. is refused with 422 and the field in details", async () => {
    const err = expectError(await f.call("POST", "/v1/jobs", { body: { command: ["x"], inputs: [{ key: "inputs/u/a", path: "../../etc/passwd" }] } }), 422, "validation_failed");
    expect(err.details.problems).toEqual([{ field: "inputs[0].path", reason: 'contains a ".." segment' }]);
    expect(err.message).toContain("inputs[0].path");
  });

  it("an LB_ variable in env is refused with 422", async () => {
    const err = expectError(await f.call("POST", "/v1/jobs", { body: { command: ["x"], env: { LB_OUTPUT_DIR: "/" } } }), 422, "validation_failed");
    expect(err.details.problems).toEqual([{ field: "env.LB_OUTPUT_DIR", reason: expect.any(String) }]);
  });

  it("an lb_ variable in any case, a NUL in argv or env, and a Windows device input path are refused with 422", async () => {
    const cases: [unknown, string][] = [
      [{ command: ["x"], env: { lb_output_dir: "/" } }, "env.lb_output_dir"],
      [{ command: ["x", "a\u0000b"] }, "command[1]"],
      [{ command: ["x"], env: { A: "a\u0000b" } }, "env.A"],
      [{ command: ["x"], inputs: [{ key: "inputs/u/a", path: "data/nul.txt" }] }, "inputs[0].path"],
      [{ command: ["x"], inputs: [{ key: "inputs/u/a", path: "data.bin:stream" }] }, "inputs[0].path"],
      [{ command: ["x"], inputs: [{ key: "inputs/u/a", path: "data. " }] }, "inputs[0].path"],
    ];
    for (const [body, field] of cases) {
      const err = expectError(await f.call("POST", "/v1/jobs", { body }), 422, "validation_failed");
      expect(err.details.problems, field).toEqual([{ field, reason: expect.any(String) }]);
    }
  });

  it("an os in another case is accepted and stored lowercase", async () => {
    const job = await submit({ requirements: { os: "Linux", labels: { gpu: "rtx4090" } } });
    expect((await f.call("GET", `/v1/jobs/${job.id}`)).body.requirements).toEqual({ os: "linux", labels: { gpu: "rtx4090" } });
  });

  it("an os no agent can have is refused with 422 naming requirements.os", async () => {
    const err = expectError(await f.call("POST", "/v1/jobs", { body: { command: ["x"], requirements: { os: "plan9" } } }), 422, "validation_failed");
    expect(err.details.problems).toEqual([{ field: "requirements.os", reason: expect.stringContaining("plan9") }]);
    expect((await f.call("GET", "/v1/jobs")).body.items).toEqual([]);
  });

  it("a requirement key the API does not know, such as the typo gpu, is refused with 422 unknown_field naming it", async () => {
    const err = expectError(await f.call("POST", "/v1/jobs", { body: { command: ["x"], requirements: { gpu: 1 } } }), 422, "unknown_field");
    expect(err.details.field).toBe("requirements.gpu");
    expect(err.message).toContain("requirements.gpu");
    expect((await f.call("GET", "/v1/jobs")).body.items).toEqual([]);
  });

  it("GPU requirements and a priority are accepted and shown on the job", async () => {
    const job = await submit({ requirements: { gpus: 2, gpu_memory_mb: 20_000, gpu_name: "4090" }, priority: 5 });
    const shown = (await f.call("GET", `/v1/jobs/${job.id}`)).body;
    expect(shown.requirements).toEqual({ gpus: 2, gpu_memory_mb: 20_000, gpu_name: "4090" });
    expect(shown.priority).toBe(5);
    const err = expectError(await f.call("POST", "/v1/jobs", { body: { command: ["x"], priority: 11 } }), 422, "validation_failed");
    expect(err.details.problems).toEqual([{ field: "priority", reason: expect.any(String) }]);
  });

  it("a body over 64 KiB is refused with 413 payload_too_large", async () => {
    const big = JSON.stringify({ command: ["x"], name: "n".repeat(70 * 1024) });
    expectError(await f.call("POST", "/v1/jobs", { raw: big }), 413, "payload_too_large");
    expect((await f.call("GET", "/v1/jobs")).body.items).toEqual([]);
  });

  it("the same Idempotency-Key and body return the first job, never a second one", async () => {
    const body = { command: ["python", "train.py"], env: { A: "1" } };
    const first = await f.call("POST", "/v1/jobs", { body, headers: { "idempotency-key": "k-1" } });
    expect(first.status).toBe(201);
    f.now += 60_000;
    const second = await f.call("POST", "/v1/jobs", { body, headers: { "idempotency-key": "k-1" } });
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect((await f.call("GET", "/v1/jobs")).body.items).toHaveLength(1);
    expect((await entries(f.api.ctx.streams.jobs)).filter((e) => e.type === "job.submitted")).toHaveLength(1);
  });

  it("the same Idempotency-Key with a different body is refused with 422 idempotency_key_reused", async () => {
    await f.call("POST", "/v1/jobs", { body: { command: ["a"] }, headers: { "idempotency-key": "k-2" } });
    const err = expectError(await f.call("POST", "/v1/jobs", { body: { command: ["b"] }, headers: { "idempotency-key": "k-2" } }), 422, "idempotency_key_reused");
    expect(err.details).toEqual({ idempotency_key: "k-2" });
    expect((await f.call("GET", "/v1/jobs")).body.items).toHaveLength(1);
  });

  it("concurrent retries with the same Idempotency-Key all get the one job, none an error", async () => {
    const send = () => f.call("POST", "/v1/jobs", { body: { command: ["python", "train.py"] }, headers: { "idempotency-key": "retry-storm" } });
    // Twelve at once: enough to deadlock a check-then-insert on the key row.
    const answers = await Promise.all(Array.from({ length: 12 }, send));
    expect(answers.map((a) => a.status).sort(), answers.map((a) => a.text).join("\n")).toEqual([...Array(11).fill(200), 201]);
    expect(new Set(answers.map((a) => a.body?.id)).size).toBe(1);
    expect((await f.call("GET", "/v1/jobs")).body.items).toHaveLength(1);
  });

  it("an empty or overlong Idempotency-Key is refused with 422", async () => {
    for (const [what, key] of [["empty", ""], ["256 characters", "k".repeat(256)]]) {
      const err = expectError(await f.call("POST", "/v1/jobs", { body: { command: ["a"] }, headers: { "idempotency-key": key! } }), 422, "validation_failed");
      expect(err.message, what).toContain("Idempotency-Key");
    }
    expect((await f.call("GET", "/v1/jobs")).body.items).toEqual([]);
    // The longest key allowed, 255 characters, is taken: the limit is where it is documented.
    expect((await f.call("POST", "/v1/jobs", { body: { command: ["a"] }, headers: { "idempotency-key": "k".repeat(255) } })).status).toBe(201);
  });

  it("an Idempotency-Key is scoped to its owner", async () => {
    const bob = await userToken("bob");
    const mine = await f.call("POST", "/v1/jobs", { body: { command: ["a"] }, headers: { "idempotency-key": "shared" } });
    const his = await f.call("POST", "/v1/jobs", { token: bob, body: { command: ["a"] }, headers: { "idempotency-key": "shared" } });
    expect(his.status).toBe(201);
    expect(his.body.id).not.toBe(mine.body.id);
  });

  it("an Idempotency-Key older than 24 hours makes a new job", async () => {
    const first = await f.call("POST", "/v1/jobs", { body: { command: ["a"] }, headers: { "idempotency-key": "old" } });
    f.now += 24 * 3600 * 1000 + 1;
    const second = await f.call("POST", "/v1/jobs", { body: { command: ["a"] }, headers: { "idempotency-key": "old" } });
    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
  });

  it("writes a job.submitted entry with flat readable fields to <prefix>:jobs", async () => {
    const job = await submit();
    expect(f.api.ctx.streams.jobs).toBe(`${f.env.config.prefix}:jobs`);
    const [entry] = await entries(`${f.env.config.prefix}:jobs`);
    expect(Object.keys(entry!)).toEqual(["type", "v", "job_id", "ts", "data"]);
    expect(entry).toMatchObject({ type: "job.submitted", v: "1", job_id: job.id });
    expect(entry!.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(JSON.parse(entry!.data!)).toEqual({ owner: "admin" });
  });
});

describe("GET /v1/jobs", () => {
  it("an unknown or malformed job id is 404 not_found", async () => {
    expectError(await f.call("GET", "/v1/jobs/job_00000000000000000000000000"), 404, "not_found");
    expectError(await f.call("GET", "/v1/jobs/not-an-id"), 404, "not_found");
  });

  it("pages through every job with limit and cursor, newest first, without repeats", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      // Three jobs share one millisecond: the cursor must still tell them apart.
      f.now = T0 + (i < 3 ? 0 : i * 1000);
      ids.push((await submit({ name: `job-${i}` })).id);
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Answer = await f.call("GET", `/v1/jobs?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(page.status).toBe(200);
      sizes.push(page.body.items.length);
      seen.push(...page.body.items.map((j: { id: string }) => j.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(sizes).toEqual([3, 3, 1]);
    expect(new Set(seen).size).toBe(7);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen.slice(0, 4)).toEqual(ids.slice(3).reverse());
  });

  it("a PENDING job says where it is in the queue and why it waits, in GET and in lists", async () => {
    const agentId = await f.enrolledAgent();
    await markAgentOnline(f.api.ctx.pool, { agentId, gatewayId: "gw-x", sessionId: "ses_x", hostname: "h", gpus: [], at: new Date(f.now) });
    const first = await submit();
    f.now += 1;
    const windows = await submit({ requirements: { os: "windows" } });
    expect((await f.call("GET", `/v1/jobs/${first.id}`)).body.queue).toEqual({ position: 1, reason: "waiting_for_fair_share", message: expect.any(String) });
    expect((await f.call("GET", `/v1/jobs/${windows.id}`)).body.queue).toEqual({ position: 2, reason: "no_agent_matches", message: 'no enrolled agent has os "windows"' });
    const listed = (await f.call("GET", "/v1/jobs")).body.items as { id: string; queue: unknown }[];
    expect(Object.fromEntries(listed.map((j) => [j.id, j.queue]))).toEqual({
      [first.id]: expect.objectContaining({ position: 1 }), [windows.id]: expect.objectContaining({ position: 2, reason: "no_agent_matches" }),
    });
    await assignJob(f.api.ctx.pool, { jobId: first.id, now: new Date(f.now), grantLease: async () => undefined });
    expect((await f.call("GET", `/v1/jobs/${first.id}`)).body.queue).toBeNull();
  });

  it("refuses a limit outside 1 to 500, a bad cursor and an unknown state with 422", async () => {
    for (const q of ["limit=0", "limit=501", "limit=x", "cursor=garbage", "state=DONE"]) {
      expectError(await f.call("GET", `/v1/jobs?${q}`), 422, "validation_failed");
    }
  });

  it("filters the list by state", async () => {
    const scheduler = startScheduler(f.env.config, { clock: () => f.now, log: silent });
    closers.push(scheduler.close);
    const keep = await submit();
    const gone = await submit();
    await f.call("POST", `/v1/jobs/${gone.id}/cancel`);
    await waitFor(async () => (await f.call("GET", `/v1/jobs/${gone.id}`)).body.state === "CANCELED", 10_000, "job to be CANCELED");
    const ids = async (state: string) => (await f.call("GET", `/v1/jobs?state=${state}`)).body.items.map((j: { id: string }) => j.id);
    expect(await ids("PENDING")).toEqual([keep.id]);
    expect(await ids("CANCELED")).toEqual([gone.id]);
    expect(await ids("RUNNING")).toEqual([]);
  });
});

describe("users and admins", () => {
  it("a user cannot see, list or cancel the admin's job, and sees only their own", async () => {
    const adminJob = await submit();
    const bob = await userToken("bob");
    expect(bob).toMatch(/^lbu_/);
    expectError(await f.call("GET", `/v1/jobs/${adminJob.id}`, { token: bob }), 404, "not_found");
    expectError(await f.call("POST", `/v1/jobs/${adminJob.id}/cancel`, { token: bob }), 404, "not_found");
    expectError(await f.call("GET", `/v1/jobs/${adminJob.id}/outputs`, { token: bob }), 404, "not_found");
    const bobJob = await submit({}, bob);
    expect(bobJob.owner).toBe("bob");
    expect((await f.call("GET", "/v1/jobs", { token: bob })).body.items.map((j: { id: string }) => j.id)).toEqual([bobJob.id]);
    expect((await f.call("GET", `/v1/jobs/${bobJob.id}`, { token: bob })).status).toBe(200);
    // The admin sees everyone's jobs.
    expect((await f.call("GET", "/v1/jobs")).body.items).toHaveLength(2);
    expect((await f.call("GET", `/v1/jobs/${adminJob.id}`)).status).toBe(200);
  });

  it("a user cannot create enrollment tokens, API tokens, or pause, resume or revoke agents", async () => {
    const bob = await userToken("bob");
    expectError(await f.call("POST", "/v1/enrollment-tokens", { token: bob, body: {} }), 403, "forbidden");
    expectError(await f.call("POST", "/v1/api-tokens", { token: bob, body: { owner: "eve", role: "admin" } }), 403, "forbidden");
    const agentId = await f.enrolledAgent();
    expectError(await f.call("POST", `/v1/agents/${agentId}/pause`, { token: bob, body: {} }), 403, "forbidden");
    expectError(await f.call("POST", `/v1/agents/${agentId}/resume`, { token: bob }), 403, "forbidden");
    expectError(await f.call("DELETE", `/v1/agents/${agentId}`, { token: bob }), 403, "forbidden");
  });

  it("an admin creates one-use enrollment tokens with a TTL", async () => {
    const a = await f.call("POST", "/v1/enrollment-tokens", { body: { ttl_seconds: 600, labels: { lab: "b201" } } });
    expect(a.status).toBe(201);
    expect(a.body).toEqual({ token: expect.stringMatching(/^lbe_/), expires_at: new Date(T0 + 600_000).toISOString() });
    const err = expectError(await f.call("POST", "/v1/enrollment-tokens", { body: { ttl_seconds: 5 } }), 422, "validation_failed");
    expect(err.details.problems).toEqual([{ field: "ttl_seconds", reason: expect.any(String) }]);
  });
});

describe("cancel", () => {
  it("a PENDING job's cancel is accepted with 202 and the scheduler ends it CANCELED", async () => {
    const scheduler: RunningScheduler = startScheduler(f.env.config, { clock: () => f.now, log: silent });
    closers.push(scheduler.close);
    const job = await submit();
    const a = await f.call("POST", `/v1/jobs/${job.id}/cancel`);
    expect(a.status).toBe(202);
    expect(a.body).toMatchObject({ id: job.id, cancel_requested: true });
    const done = await waitFor(async () => {
      const j = await f.call("GET", `/v1/jobs/${job.id}`);
      return j.body.state === "CANCELED" ? j.body : null;
    }, 10_000, "job to be CANCELED");
    expect(done.history.map((h: { cause: string }) => h.cause)).toEqual(["submitted", "cancel_requested"]);
    const cancelEntries = (await entries(f.api.ctx.streams.jobs)).filter((e) => e.type === "job.cancel_requested");
    expect(cancelEntries).toEqual([expect.objectContaining({ job_id: job.id, v: "1" })]);
  });

  it("canceling a finished job is refused with 409 job_already_finished", async () => {
    const scheduler = startScheduler(f.env.config, { clock: () => f.now, log: silent });
    closers.push(scheduler.close);
    const job = await submit();
    await f.call("POST", `/v1/jobs/${job.id}/cancel`);
    await waitFor(async () => (await f.call("GET", `/v1/jobs/${job.id}`)).body.state === "CANCELED", 10_000, "job to be CANCELED");
    const err = expectError(await f.call("POST", `/v1/jobs/${job.id}/cancel`), 409, "job_already_finished");
    expect(err.details).toEqual({ state: "CANCELED" });
  });

  it("canceling an unknown job is 404", async () => {
    expectError(await f.call("POST", "/v1/jobs/job_00000000000000000000000000/cancel"), 404, "not_found");
  });
});

describe("uploads and outputs", () => {
  it("POST /v1/uploads returns a presigned PUT for inputs/<upl_id>/<name>", async () => {
    const sha = "c".repeat(64);
    const a = await f.call("POST", "/v1/uploads", { body: { name: "data.zip", size: 1024, sha256: sha } });
    expect(a.status, a.text).toBe(201);
    expect(a.body).toMatchObject({ method: "PUT", headers: { "Content-Type": "application/octet-stream" }, expires_at: new Date(T0 + f.env.config.presignSeconds * 1000).toISOString() });
    expect(a.body.key).toMatch(/^inputs\/upl_[0-9A-Z]{26}\/data\.zip$/);
    const url = new URL(a.body.url);
    expect(url.pathname).toBe(`/${a.body.key}`);
    expect(url.searchParams.get("Expires")).toBe(String(T0 / 1000 + f.env.config.presignSeconds));
    expect(url.searchParams.get("Signature")).toBeTruthy();

    // A job naming that key carries its size and sha256 for the agent to check.
    const job = await submit({ inputs: [{ key: a.body.key, path: "data.zip" }] });
    expect((await f.call("GET", `/v1/jobs/${job.id}`)).body.inputs).toEqual([{ key: a.body.key, path: "data.zip", size: 1024, sha256: sha }]);
  });

  it("a job may read only its owner's uploads and job outputs; any other key is refused with 422", async () => {
    const upload = await f.call("POST", "/v1/uploads", { body: { name: "secret.bin", size: 10 } });
    const user = (await f.call("POST", "/v1/api-tokens", { body: { owner: "alice", role: "user" } })).body.token as string;
    for (const key of [upload.body.key, "inputs/upl_unknown/x.bin", "jobs/job_other/att_other/outputs/model.pt"]) {
      const a = await f.call("POST", "/v1/jobs", { token: user, body: { command: ["true"], inputs: [{ key, path: "x" }] } });
      const err = expectError(a, 422, "validation_failed");
      expect(err.details).toEqual({ problems: [{ field: "inputs[0].key", reason: "is not one of your uploads or job outputs" }] });
    }
    // The uploader itself (here the admin) may use it.
    await submit({ inputs: [{ key: upload.body.key, path: "x" }] });
  });

  it("POST /v1/uploads refuses a name with a slash or .., and a bad size or sha256", async () => {
    for (const [body, field] of [
      [{ name: "dir/data.zip", size: 1 }, "name"], [{ name: "..", size: 1 }, "name"], [{ name: "C:x", size: 1 }, "name"],
      [{ name: "a", size: -1 }, "size"], [{ name: "a", size: 1, sha256: "XYZ" }, "sha256"],
    ] as const) {
      const err = expectError(await f.call("POST", "/v1/uploads", { body }), 422, "validation_failed");
      expect((err.details.problems as { field: string }[]).map((p) => p.field), JSON.stringify(body)).toEqual([field]);
    }
  });

  it("GET /v1/jobs/{id}/outputs gives presigned GET URLs for the current attempt's outputs", async () => {
    const pool = f.api.ctx.pool;
    const agentId = await f.enrolledAgent();
    await markAgentOnline(pool, { agentId, gatewayId: "gw-x", sessionId: "ses_x", hostname: "h", gpus: [], at: new Date(f.now) });
    const job = await submit();
    const assignment = await assignJob(pool, { jobId: job.id, now: new Date(f.now), grantLease: async () => undefined });
    const att = assignment!.attemptId;
    await startAttempt(pool, { jobId: job.id, attemptId: att, agentId, now: new Date(f.now) });
    const key = `jobs/${job.id}/${att}/outputs/model.pt`;
    await finishAttempt(pool, {
      jobId: job.id, attemptId: att, agentId, now: new Date(f.now),
      result: { outcome: "succeeded", exitCode: 0, error: null, outputs: [{ path: "model.pt", key, size: 7, sha256: "d".repeat(64) }] },
    });
    const a = await f.call("GET", `/v1/jobs/${job.id}/outputs`);
    expect(a.status).toBe(200);
    expect(a.body.items).toEqual([{
      path: "model.pt", key, size: 7, sha256: "d".repeat(64), url: expect.stringContaining(`/${key}?`),
      expires_at: new Date(T0 + f.env.config.presignSeconds * 1000).toISOString(),
    }]);
    expect(new URL(a.body.items[0].url).searchParams.get("Signature")).toBeTruthy();
    // The list filters by the agent that ran an attempt.
    await submit();
    const byAgent = await f.call("GET", `/v1/jobs?agent_id=${agentId}`);
    expect(byAgent.body.items.map((j: { id: string }) => j.id)).toEqual([job.id]);
    expect((await f.call("GET", "/v1/jobs?state=SUCCEEDED")).body.items.map((j: { id: string }) => j.id)).toEqual([job.id]);
  });
});

describe("agents", () => {
  it("lists enrolled agents and pauses, resumes and revokes them", async () => {
    const agentId = await f.enrolledAgent({ lab: "b201" });
    const list = await f.call("GET", "/v1/agents");
    expect(list.body).toEqual({
      items: [expect.objectContaining({ id: agentId, name: "ws-b201-07", status: "OFFLINE", paused: false, labels: { lab: "b201" }, running: [] })],
      next_cursor: null,
    });
    const paused = await f.call("POST", `/v1/agents/${agentId}/pause`, { body: { reason: "exam week" } });
    expect(paused.status).toBe(202);
    expect(paused.body).toMatchObject({ paused: true, pause_reason: "exam week" });
    const resumed = await f.call("POST", `/v1/agents/${agentId}/resume`);
    expect(resumed.status).toBe(202);
    expect(resumed.body).toMatchObject({ paused: false, pause_reason: null });
    expect((await f.call("DELETE", `/v1/agents/${agentId}`)).status).toBe(204);
    expectError(await f.call("GET", `/v1/agents/${agentId}`), 404, "not_found");
    expect((await f.call("GET", "/v1/agents")).body.items).toEqual([]);
  });
});

describe("PATCH /v1/agents/{id}", () => {
  it("an admin changes an agent's slots and labels, gets the agent back, and the change is audited", async () => {
    const agentId = await f.enrolledAgent({ lab: "b201" });
    const a = await f.call("PATCH", `/v1/agents/${agentId}`, { body: { slots: 2, labels: { lab: "b202", gpu: "rtx4090" } } });
    expect(a.status, a.text).toBe(200);
    expect(a.body).toMatchObject({ id: agentId, slots: 2, labels: { lab: "b202", gpu: "rtx4090" } });
    expect((await f.call("GET", `/v1/agents/${agentId}`)).body).toMatchObject({ slots: 2, labels: { lab: "b202", gpu: "rtx4090" } });
    // Only slots: the labels stay.
    expect((await f.call("PATCH", `/v1/agents/${agentId}`, { body: { slots: 3 } })).body).toMatchObject({ slots: 3, labels: { lab: "b202", gpu: "rtx4090" } });
    const audit = await listAudit(f.api.ctx.pool, { targetId: agentId });
    expect(audit.map((r) => [r.action, r.actor, r.role, r.result])).toEqual([["agent.patched", "admin", "admin", "ok"], ["agent.patched", "admin", "admin", "ok"]]);
    expect(audit[0]!.details).toEqual({ slots: { from: 1, to: 2 }, labels: { from: { lab: "b201" }, to: { lab: "b202", gpu: "rtx4090" } } });
    expect((await entries(f.api.ctx.streams.agentEvents)).filter((e) => e.type === "agent.updated").map((e) => e.agent_id)).toEqual([agentId, agentId]);
  });

  it("refuses slots outside 1 to 64, labels that are not short strings, an unknown field, and a user", async () => {
    const agentId = await f.enrolledAgent({ lab: "b201" });
    for (const [body, field] of [
      [{ slots: 0 }, "slots"], [{ slots: 65 }, "slots"], [{ slots: 1.5 }, "slots"], [{ labels: { lab: 7 } }, "labels"],
      [{ labels: { "bad key": "x" } }, "labels.bad key"], [{ labels: { lab: "x".repeat(129) } }, "labels.lab"], [{}, ""],
    ] as const) {
      const err = expectError(await f.call("PATCH", `/v1/agents/${agentId}`, { body }), 422, "validation_failed");
      expect((err.details.problems as { field: string }[]).map((p) => p.field), JSON.stringify(body)).toEqual([field]);
    }
    const unknown = expectError(await f.call("PATCH", `/v1/agents/${agentId}`, { body: { slot: 2 } }), 422, "unknown_field");
    expect(unknown.details.field).toBe("slot");
    expectError(await f.call("PATCH", `/v1/agents/${agentId}`, { token: await userToken("bob"), body: { slots: 2 } }), 403, "forbidden");
    expectError(await f.call("PATCH", "/v1/agents/agt_00000000000000000000000000", { body: { slots: 2 } }), 404, "not_found");
    expect((await f.call("GET", `/v1/agents/${agentId}`)).body).toMatchObject({ slots: 1, labels: { lab: "b201" } });
    // Nothing changed, so nothing is recorded as done; the user's try is on the trail as refused.
    const audit = await listAudit(f.api.ctx.pool, { targetId: agentId });
    expect(audit.map((r) => [r.action, r.actor, r.role, r.result])).toEqual([["agent.patched", "bob", "user", "refused"]]);
  });

  it("more slots wake the scheduler, which assigns a waiting job at once rather than at its next sweep", async () => {
    const agentId = await f.enrolledAgent();
    await markAgentOnline(f.api.ctx.pool, { agentId, gatewayId: "gw-x", sessionId: "ses_x", hostname: "h", gpus: [], at: new Date(f.now) });
    // A sweep an hour apart: only a stream entry can make this scheduler look again.
    const scheduler = startScheduler({ ...f.env.config, sweepSeconds: 3600 }, { clock: () => f.now, log: silent });
    closers.push(scheduler.close);
    const first = await submit();
    await waitFor(async () => (await f.call("GET", `/v1/jobs/${first.id}`)).body.state === "ASSIGNED", 10_000, "the first job to be ASSIGNED");
    const second = await submit();
    // The scheduler has handled the second job's job.submitted (and found the agent full)
    // once its group has read every entry and acked it: no lag, nothing pending.
    await waitFor(async () => {
      const [group] = (await redis.xinfo("GROUPS", f.api.ctx.streams.jobs)) as unknown[][];
      const info = new Map<unknown, unknown>();
      for (let i = 0; group && i + 1 < group.length; i += 2) info.set(group[i], group[i + 1]);
      return info.get("lag") === 0 && info.get("pending") === 0;
    }, 10_000, "job.submitted to be handled");
    expect((await f.call("GET", `/v1/jobs/${second.id}`)).body).toMatchObject({ state: "PENDING", queue: { reason: "agents_busy" } });
    expect((await f.call("PATCH", `/v1/agents/${agentId}`, { body: { slots: 2 } })).status).toBe(200);
    await waitFor(async () => (await f.call("GET", `/v1/jobs/${second.id}`)).body.state === "ASSIGNED", 10_000, "the second job to be ASSIGNED after the patch");
  });
});

describe("service endpoints", () => {
  it("/healthz and /readyz answer 200 without a token", async () => {
    const health = await f.call("GET", "/healthz", { token: null });
    expect([health.status, health.body]).toEqual([200, { ok: true }]);
    const ready = await f.call("GET", "/readyz", { token: null });
    expect([ready.status, ready.body]).toEqual([200, { ready: true, redis: true, mysql: true }]);
  });

  it("/metrics exposes received and sent byte counters that grow with traffic", async () => {
    const text = (await f.call("GET", "/metrics", { token: null })).text;
    expect(text).toContain("# TYPE lb_api_http_received_bytes_total counter");
    expect(text).toContain("# TYPE lb_api_http_sent_bytes_total counter");
    const received = await metricValue("lb_api_http_received_bytes_total");
    const sent = await metricValue("lb_api_http_sent_bytes_total");
    await submit({ env: { PAYLOAD: "x".repeat(2000) } });
    expect(await metricValue("lb_api_http_received_bytes_total")).toBeGreaterThan(received + 2000);
    expect(await metricValue("lb_api_http_sent_bytes_total")).toBeGreaterThan(sent + 2000);
  });

  it("/openapi.json describes the API, /v1/jobs included", async () => {
    const a = await f.call("GET", "/openapi.json", { token: null });
    expect(a.status).toBe(200);
    expect(a.body.openapi).toMatch(/^3\./);
    expect(Object.keys(a.body.paths)).toEqual(expect.arrayContaining(["/v1/jobs", "/v1/jobs/{id}", "/v1/uploads", "/v1/agents"]));
  });

  it("an unknown route is a 404 and a known path with another method a 405 naming the methods in Allow", async () => {
    expectError(await f.call("GET", "/v2/nothing"), 404, "not_found");
    const a = await f.call("PATCH", "/v1/jobs");
    expect(expectError(a, 405, "method_not_allowed").details).toEqual({ allow: "POST, GET" });
    expect(a.headers.get("allow")).toBe("POST, GET");
  });
});

describe("dependencies down", () => {
  it("answers 503 unavailable with Retry-After when MySQL cannot be reached, and /readyz says so", async () => {
    const config = loadConfig({ ...f.env.env, LB_MYSQL_URL: "mysql://root@127.0.0.1:1/lbtest_down" });
    const down = await startApi(config, { clock: () => f.now, log: silent });
    closers.push(down.close);
    const url = `http://127.0.0.1:${down.port}`;
    const a = await f.call("POST", "/v1/jobs", { url, body: { command: ["x"] } });
    expectError(a, 503, "unavailable");
    expect(a.headers.get("retry-after")).toBe("2");
    const ready = await f.call("GET", "/readyz", { url, token: null });
    expect([ready.status, ready.body]).toEqual([503, { ready: false, redis: true, mysql: false }]);
  });

  it("still accepts a job when Redis is away: MySQL holds it and the scheduler's sweep finds it", async () => {
    const config = loadConfig({ ...f.env.env, LB_REDIS_URL: "redis://127.0.0.1:1" });
    const down = await startApi(config, { clock: () => f.now, log: silent });
    closers.push(down.close);
    const url = `http://127.0.0.1:${down.port}`;
    const a = await f.call("POST", "/v1/jobs", { url, body: { command: ["x"] } });
    expect(a.status, a.text).toBe(201);
    expect((await f.call("GET", `/v1/jobs/${a.body.id}`)).body.state).toBe("PENDING");
    const ready = await f.call("GET", "/readyz", { url, token: null });
    expect([ready.status, ready.body]).toEqual([503, { ready: false, redis: false, mysql: true }]);
    // No job.submitted entry was written; the scheduler's MySQL sweep still dispatches the job.
    expect(await redis.exists(f.api.ctx.streams.jobs)).toBe(0);
    const agentId = await f.enrolledAgent();
    await markAgentOnline(f.api.ctx.pool, { agentId, gatewayId: "gw-x", sessionId: "ses_x", hostname: "h", gpus: [], at: new Date(f.now) });
    const scheduler = startScheduler(f.env.config, { clock: () => f.now, log: silent });
    closers.push(scheduler.close);
    const assigned = await waitFor(async () => {
      const j = (await f.call("GET", `/v1/jobs/${a.body.id}`)).body;
      return j.state === "ASSIGNED" ? j : null;
    }, 10_000, "the sweep to assign the job");
    expect(assigned.attempts).toEqual([expect.objectContaining({ agent_id: agentId, state: "ASSIGNED" })]);
  });
});
