import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEV_STORAGE } from "@labbridge/config";
import { startOssLocal, type OssLocal } from "@labbridge/oss-local";
import { logKey } from "@labbridge/protocol";
import { expectError, startApiFixture, type ApiFixture } from "./api_fixture.ts";

// GET /v1/jobs filters (state, agent_id, owner, name_prefix) with a user's view kept to their
// own jobs, and GET /v1/jobs/{id}/logs against oss-local with the real ali-oss client: the
// sizes come from HEADs to the store, the URLs are presigned GETs that really download.

const T0 = Date.UTC(2025, 0, 1, 12);
let store: OssLocal;
let dataDir: string;
let f: ApiFixture;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "api-logs-"));
  store = await startOssLocal({ port: 0, dataDir, bucket: DEV_STORAGE.bucket, accessKeyId: DEV_STORAGE.accessKeyId, accessKeySecret: DEV_STORAGE.accessKeySecret });
});

afterAll(async () => {
  await store?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  // The presigned URLs are fetched against the store's real clock, so the API's clock is now-ish.
  f = await startApiFixture(Date.now(), { LB_OSS_ENDPOINT: store.url, LB_OSS_CNAME: "true" });
});

afterEach(async () => {
  await f.close();
});

const ids = (a: { body: { items: { id: string }[] } }) => a.body.items.map((i) => i.id);

describe("GET /v1/jobs filters", () => {
  it("filters by owner and name_prefix for an admin, with _ and % in a prefix taken literally", async () => {
    const alice = await f.mint("alice");
    const bob = await f.mint("bob");
    const a1 = await f.submit(alice.token, { name: "resnet_50-a" });
    f.now += 1;
    const a2 = await f.submit(alice.token, { name: "resnetX50-b" });
    f.now += 1;
    const b1 = await f.submit(bob.token, { name: "resnet_50-c" });
    f.now += 1;
    const b2 = await f.submit(bob.token, { name: "bert%1" });
    expect(ids(await f.call("GET", "/v1/jobs?owner=alice"))).toEqual([a2.id, a1.id]);
    expect(ids(await f.call("GET", "/v1/jobs?name_prefix=resnet"))).toEqual([b1.id, a2.id, a1.id]);
    expect(ids(await f.call("GET", "/v1/jobs?name_prefix=resnet_"))).toEqual([b1.id, a1.id]);
    expect(ids(await f.call("GET", "/v1/jobs?name_prefix=bert%25"))).toEqual([b2.id]);
    expect(ids(await f.call("GET", "/v1/jobs?name_prefix=bert%251"))).toEqual([b2.id]);
    expect(ids(await f.call("GET", "/v1/jobs?name_prefix=ber%25"))).toEqual([]);
    expect(ids(await f.call("GET", "/v1/jobs?owner=bob&name_prefix=resnet&state=PENDING"))).toEqual([b1.id]);
    expect(ids(await f.call("GET", "/v1/jobs?owner=nobody"))).toEqual([]);
  });

  it("a user sees only their own jobs: owner=themselves is allowed, owner=someone-else is 403", async () => {
    const alice = await f.mint("alice");
    const bob = await f.mint("bob");
    const mine = await f.submit(alice.token, { name: "mine" });
    await f.submit(bob.token, { name: "mine-too" });
    expect(ids(await f.call("GET", "/v1/jobs?name_prefix=mine", { token: alice.token }))).toEqual([mine.id]);
    expect(ids(await f.call("GET", "/v1/jobs?owner=alice", { token: alice.token }))).toEqual([mine.id]);
    const err = expectError(await f.call("GET", "/v1/jobs?owner=bob", { token: alice.token }), 403, "forbidden");
    expect(err.details).toEqual({ parameter: "owner" });
  });

  it("refuses an unknown parameter with 400 and an over-long name_prefix with 422", async () => {
    expect(expectError(await f.call("GET", "/v1/jobs?name=x"), 400, "unknown_parameter").details.parameter).toBe("name");
    expectError(await f.call("GET", `/v1/jobs?name_prefix=${"x".repeat(201)}`), 422, "validation_failed");
    expectError(await f.call("GET", "/v1/jobs?owner="), 422, "validation_failed");
  });
});

describe("GET /v1/jobs/{id}/logs", () => {
  async function jobWithAttempts(token: string, attempts: number) {
    const job = await f.submit(token, { max_attempts: attempts });
    const agentId = await f.enrolledAgent();
    const atts: string[] = [];
    for (let n = 1; n <= attempts; n++) {
      const id = `att_${String(n).padStart(2, "0")}${"0".repeat(24)}`;
      await f.api.ctx.pool.execute(
        "INSERT INTO attempts (id, job_id, number, agent_id, state, assigned_at, started_at, finished_at) VALUES (?, ?, ?, ?, 'FAILED', ?, ?, ?)",
        [id, job.id, n, agentId, new Date(f.now), new Date(f.now), new Date(f.now)],
      );
      atts.push(id);
    }
    return { job, atts };
  }

  it("gives presigned GETs of each attempt's stdout and stderr with their sizes, latest attempt first, leaving out logs not in the store", async () => {
    const { job, atts } = await jobWithAttempts(f.admin, 2);
    const [first, second] = atts as [string, string];
    const put = (att: string, stream: string, text: string) => f.api.ctx.storage.client.put(logKey(job.id, att, stream), Buffer.from(text));
    await put(first, "stdout", "epoch 1\n");
    await put(first, "stderr", "CUDA out of memory\n");
    await put(second, "stdout", "epoch 1\nepoch 2\ndone\n");
    // The second attempt's stderr was never uploaded.
    const a = await f.call("GET", `/v1/jobs/${job.id}/logs`);
    expect(a.status, a.text).toBe(200);
    const expiresAt = new Date((Math.floor(f.now / 1000) + f.env.config.presignSeconds) * 1000).toISOString();
    expect(a.body.items.map((i: Record<string, unknown>) => ({ ...i, url: undefined }))).toEqual([
      { attempt_id: second, stream: "stdout", key: `jobs/${job.id}/${second}/logs/stdout.log`, size: 21, url: undefined, expires_at: expiresAt },
      { attempt_id: first, stream: "stdout", key: `jobs/${job.id}/${first}/logs/stdout.log`, size: 8, url: undefined, expires_at: expiresAt },
      { attempt_id: first, stream: "stderr", key: `jobs/${job.id}/${first}/logs/stderr.log`, size: 19, url: undefined, expires_at: expiresAt },
    ]);
    // The URLs really download the logs, straight from the store.
    expect(await (await fetch(a.body.items[0].url)).text()).toBe("epoch 1\nepoch 2\ndone\n");
    expect(await (await fetch(a.body.items[2].url)).text()).toBe("CUDA out of memory\n");
  });

  it("a job without attempts has no logs; another user's job and an unknown job are 404", async () => {
    const alice = await f.mint("alice");
    const job = await f.submit(alice.token);
    expect((await f.call("GET", `/v1/jobs/${job.id}/logs`, { token: alice.token })).body).toEqual({ items: [] });
    const bob = await f.mint("bob");
    expectError(await f.call("GET", `/v1/jobs/${job.id}/logs`, { token: bob.token }), 404, "not_found");
    expectError(await f.call("GET", "/v1/jobs/job_00000000000000000000000000/logs"), 404, "not_found");
    expectError(await f.call("GET", `/v1/jobs/${job.id}/logs?stream=stdout`), 400, "unknown_parameter");
  });

  it("answers 503 unavailable when the store cannot be reached, rather than an empty list", async () => {
    const { job, atts } = await jobWithAttempts(f.admin, 1);
    await f.api.ctx.storage.client.put(logKey(job.id, atts[0]!, "stdout"), Buffer.from("x"));
    await store.close();
    try {
      expectError(await f.call("GET", `/v1/jobs/${job.id}/logs`), 503, "unavailable");
    } finally {
      store = await startOssLocal({ port: 0, dataDir, bucket: DEV_STORAGE.bucket, accessKeyId: DEV_STORAGE.accessKeyId, accessKeySecret: DEV_STORAGE.accessKeySecret });
    }
  });
});
