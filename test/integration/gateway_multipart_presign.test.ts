// The gateway's multipart answers to presign requests, against oss-local (real V1
// signatures, real multipart): a file over the part size gets an upload started by the
// gateway and signed part, complete and abort requests an agent can use as they are;
// part URLs fill what room the 64 KiB frame leaves; a request that cannot fit starts no
// upload; a continuation signs just the parts asked for; an older agent still gets one PUT.
import { readdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_STORAGE } from "@labbridge/config";
import { startOssLocal, type OssLocal } from "@labbridge/oss-local";
import { completeUploadXml, MAX_FRAME_BYTES, MIN_PART_BYTES, type PresignResponseMessage } from "@labbridge/protocol";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";

const PART = MIN_PART_BYTES;
let dir: string;
let store: OssLocal;
let s: GatewayStack;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lb-gw-multipart-"));
  store = await startOssLocal({ port: 0, dataDir: join(dir, "store"), ...DEV_STORAGE });
});
afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});
stackPerTest((stack) => (s = stack), () => ({ env: { LB_OSS_ENDPOINT: store.url, LB_UPLOAD_PART_BYTES: String(PART) } }));

const bytesOf = (m: unknown) => Buffer.byteLength(JSON.stringify(m));
const uploadsInProgress = async () => (await readdir(join(dir, "store", "uploads"))).length;

/** A running attempt of a fresh agent, and a way to ask presign requests for it. */
async function attempt(extra: Record<string, unknown> = {}) {
  const { agent } = await s.newAgent();
  const { jobId, attemptId } = await s.running(agent);
  const baseline = await uploadsInProgress();
  let n = 0;
  return {
    prefix: `jobs/${jobId}/${attemptId}/`,
    /** Multipart uploads this attempt started that the store still holds open. */
    open: async () => (await uploadsInProgress()) - baseline,
    ask: async (files: Record<string, unknown>[]): Promise<PresignResponseMessage> => {
      const id = `r${++n}`;
      agent.send({ type: "presign.request", request_id: id, attempt_id: attemptId, files, compact: true, multipart: true, ...extra });
      return agent.next("presign.response", (m) => m.request_id === id, 10_000);
    },
  };
}

describe("multipart presign answers", () => {
  it("a file over the part size gets a multipart plan whose part and complete requests oss-local accepts, parts beyond the file are refused, and the object arrives whole", async () => {
    const data = Buffer.alloc(3 * PART + 777, "checkpoint ");
    const path = "outputs/model.safetensors";
    const a = await attempt();
    const first = await a.ask([{ path, size: data.length }, { path: "logs/stdout.log", size: 10 }]);
    expect(first.error).toBeNull();
    const plan = first.uploads[0]!.multipart!;
    expect([first.uploads[0]!.url, plan.part_size, plan.parts.map((p) => p.number)]).toEqual([undefined, PART, [1, 2, 3, 4]]);
    expect(first.uploads[1]!.url).toMatch(/^http/); // the small file: one PUT
    expect(await a.open()).toBe(1);

    const etags: { number: number; etag: string }[] = [];
    for (const p of plan.parts) {
      const res = await fetch(p.url, { method: "PUT", body: data.subarray((p.number - 1) * PART, p.number * PART) });
      expect(res.status, await res.clone().text()).toBe(200);
      etags.push({ number: p.number, etag: res.headers.get("etag")! });
    }
    // Going on with the upload: no new one is started, and `parts: []` gives fresh complete and abort requests only.
    const later = await a.ask([{ path, size: data.length, upload_id: plan.upload_id, parts: [] }]);
    expect(later.uploads[0]!.multipart).toMatchObject({ upload_id: plan.upload_id, parts: [] });
    expect(await a.open()).toBe(1);
    const beyond = await a.ask([{ path, size: data.length, upload_id: plan.upload_id, parts: [5] }]);
    expect(beyond.error).toMatchObject({ code: "validation_failed", message: 'Invalid part 5 of "outputs/model.safetensors": it has 4 parts' });
    const complete = later.uploads[0]!.multipart!.complete;
    const done = await fetch(complete.url, { method: complete.method, headers: complete.headers, body: completeUploadXml(etags) });
    expect(done.status, await done.clone().text()).toBe(200);
    const got = Buffer.from((await s.gw.ctx.storage.client.get(a.prefix + path)).content as Buffer);
    expect(got.equals(data)).toBe(true);
    expect(await a.open()).toBe(0);
  });

  it("the abort request drops an upload's parts at the store", async () => {
    const a = await attempt();
    const first = await a.ask([{ path: "outputs/big.bin", size: 2 * PART + 1 }]);
    const plan = first.uploads[0]!.multipart!;
    expect((await fetch(plan.parts[0]!.url, { method: "PUT", body: Buffer.alloc(PART, 1) })).status).toBe(200);
    const abort = await fetch(plan.abort.url, { method: plan.abort.method, headers: plan.abort.headers });
    expect(abort.status).toBe(204);
    expect(await a.open()).toBe(0);
  });

  it("a file of 10,000 parts whose key nears the 1,023-byte limit gets as many part URLs as fit under 64 KiB, a continuation signs only the parts asked for, and a key past the limit is refused", async () => {
    const path = `outputs/${"検".repeat(300)}`;
    const a = await attempt();
    const first = await a.ask([{ path, size: 10_000 * PART }]);
    expect(first.error).toBeNull();
    const plan = first.uploads[0]!.multipart!;
    expect(bytesOf(first)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(plan.parts.length).toBeGreaterThanOrEqual(4);
    expect(plan.parts.map((p) => p.number)).toEqual(Array.from({ length: plan.parts.length }, (_, i) => i + 1));
    const more = await a.ask([{ path, size: 10_000 * PART, upload_id: plan.upload_id, parts: [9_999, 10_000] }]);
    expect(more.uploads[0]!.multipart!.parts.map((p) => p.number)).toEqual([9_999, 10_000]);
    expect(await a.open()).toBe(1);
    // A key past the store's limit is refused with a reason, not left unanswered.
    const tooLong = await a.ask([{ path: `outputs/${"検".repeat(400)}`, size: 1 }]);
    expect(tooLong.error).toMatchObject({ code: "validation_failed", message: expect.stringContaining("1023 bytes") });
  });

  it("twenty big files in one request each get part URLs, and a request too big for a frame is refused before any upload is started", async () => {
    const files = Array.from({ length: 20 }, (_, i) => ({ path: `outputs/ckpt/shard-${String(i).padStart(3, "0")}.safetensors`, size: 50 * PART }));
    const a = await attempt();
    const ok = await a.ask(files);
    expect(ok.error).toBeNull();
    expect(bytesOf(ok)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const counts = ok.uploads.map((u) => u.multipart!.parts.length);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1); // shared round robin
    expect(await a.open()).toBe(20);

    const tooMany = Array.from({ length: 60 }, (_, i) => ({ path: `outputs/${"x".repeat(400)}/${i}.bin`, size: 2 * PART }));
    const refused = await a.ask(tooMany);
    expect(refused).toMatchObject({ uploads: [], error: { code: "payload_too_large" } });
    expect(await a.open()).toBe(20);
  });

  it("an agent that does not say it can send parts gets one PUT for a file over the part size", async () => {
    const a = await attempt({ multipart: undefined });
    const first = await a.ask([{ path: "outputs/big.bin", size: 3 * PART }]);
    expect(first.error).toBeNull();
    expect([typeof first.uploads[0]!.url, first.uploads[0]!.multipart]).toEqual(["string", undefined]);
    expect(await a.open()).toBe(0);
  });
});
