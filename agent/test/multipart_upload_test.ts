// Outputs over the part size go up in parts (against the multipart fake store): a part
// that fails is retried alone, parts the store holds are never sent again (not after a
// dropped gateway connection either), the report carries the whole file's sha256, and a
// file whose part keeps failing is aborted at the store and fails the attempt.
import { assert, assertEquals } from "./helpers/assert.ts";
import { makeAssign, sha256, startAgent } from "./helpers/agent_harness.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { FakeStore, SIGNATURE } from "./helpers/fake_store.ts";
import { TestProxy } from "./helpers/http_proxy.ts";
import { InOrderHash, uploadInParts } from "../src/transfer/multipart_upload.ts";
import { DEFAULT_RETRY } from "../src/transfer/transfer.ts";
import { createLogger } from "../src/runtime/log.ts";
import { ID_PREFIX, newId } from "../../packages/protocol/src/index.ts";

const PART = 64 * 1024;
const SIZE = 5 * PART + 12_345; // six parts, the last one short
const LINE = "0123456789abcdef\n"; // 17 bytes: a part out of place changes the sha256

/** The bytes the job writes: LINE repeated up to SIZE bytes. */
const expected = new TextEncoder().encode(LINE.repeat(Math.ceil(SIZE / LINE.length)).slice(0, SIZE));
const writeCheckpoint = ["sh", "-c", `yes 0123456789abcdef | head -c ${SIZE} > "$LB_OUTPUT_DIR/ckpt.bin"; echo saved`];

/** How many times each part of `key` reached the store, by part number. */
function sendsPerPart(store: FakeStore, key: string): number[] {
  const counts = Array.from({ length: Math.ceil(SIZE / PART) }, () => 0);
  for (const a of store.partAttempts) {
    const [k, n] = a.split("#");
    if (k === key) counts[Number(n) - 1]!++;
  }
  return counts;
}

async function run(setUp: (gw: FakeGateway, store: FakeStore, jobId: string) => void) {
  const gw = new FakeGateway();
  const store = new FakeStore();
  store.partBytes = PART;
  store.partsPerAnswer = 2; // the agent must ask for the rest as it goes
  const agent = await startAgent(gw);
  const assign = makeAssign(writeCheckpoint);
  setUp(gw, store, assign.job_id);
  await gw.waitFor("hello");
  gw.send(assign);
  const finished = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id, 30_000);
  const key = `jobs/${assign.job_id}/${assign.attempt_id}/outputs/ckpt.bin`;
  return { gw, store, agent, finished, key, dispose: async () => (await agent.dispose(), await gw.close(), await store.close()) };
}

Deno.test("an output over the part size arrives whole in parts, the part that failed once alone sent twice, with the file's sha256 reported", async () => {
  const t = await run((gw, store, jobId) => {
    gw.presign = store.presignFor(jobId);
    store.failPart.set(3, 1);
  });
  try {
    assertEquals([t.finished.outcome, t.finished.error], ["succeeded", null]);
    assertEquals(t.finished.outputs.map((o) => [o.path, o.size, o.sha256]), [["ckpt.bin", SIZE, sha256(expected)]]);
    assertEquals(sha256(t.store.puts.get(t.key)!.bytes), sha256(expected), "the store joined the parts into the file");
    assertEquals(sendsPerPart(t.store, t.key), [1, 1, 2, 1, 1, 1]);
    assertEquals([t.store.completed, t.store.aborted, t.store.uploads.size], [[t.key], [], 0]);
    // The first request starts the upload; the next ones go on with it and never ask for a part the store holds.
    const asked = t.gw.framesOf("presign.request").flatMap((r) => r.files).filter((f) => f.path === "outputs/ckpt.bin");
    assertEquals(asked[0]!.upload_id, undefined);
    assert(asked.slice(1).every((f) => f.upload_id === "UP1"), "every later request names the upload");
    assertEquals(asked.slice(1).map((f) => f.parts), [[3, 4, 5, 6], [3], [5, 6], []]);
    // The logs are small: one PUT each, no parts.
    assert(t.store.puts.has(t.key.replace("outputs/ckpt.bin", "logs/stdout.log")), "stdout log uploaded");
    assertEquals(t.store.partAttempts.filter((a) => a.includes("/logs/")), []);
    assertEquals(t.store.refused, []);
    assert(!t.agent.rawLogs.some((l) => l.includes(SIGNATURE)), "no presigned query string in logs");
  } finally {
    await t.dispose();
  }
});

Deno.test("after the gateway connection drops while part URLs are asked for, the agent asks again on the next session and sends no held part again", async () => {
  let dropped = false;
  const t = await run((gw, store, jobId) => {
    const answer = store.presignFor(jobId);
    gw.presign = (req) => {
      if (!dropped && req.files.some((f) => f.upload_id !== undefined)) {
        dropped = true;
        gw.drop(); // the request is lost with the connection
        return null;
      }
      return answer(req);
    };
  });
  try {
    assert(dropped, "the connection was dropped mid-upload");
    assertEquals([t.finished.outcome, t.finished.error], ["succeeded", null]);
    assertEquals(t.finished.outputs[0]!.sha256, sha256(expected));
    assertEquals(sendsPerPart(t.store, t.key), [1, 1, 1, 1, 1, 1]);
    assertEquals(t.store.completed, [t.key]);
    const asked = t.gw.framesOf("presign.request").flatMap((r) => r.files).filter((f) => f.path === "outputs/ckpt.bin");
    assertEquals(asked.filter((f) => f.upload_id === undefined).length, 1, "one upload started, not a second one after the drop");
    assertEquals(asked.slice(1, 3).map((f) => f.parts), [[3, 4, 5, 6], [3, 4, 5, 6]], "the lost request is asked again as it was");
  } finally {
    await t.dispose();
  }
});

Deno.test("a part the store keeps refusing aborts the multipart upload and fails the attempt with output_upload_failed", async () => {
  const t = await run((gw, store, jobId) => {
    gw.presign = store.presignFor(jobId);
    store.failPart.set(2, 1_000);
  });
  try {
    assertEquals(t.finished.outcome, "failed");
    assertEquals(t.finished.error?.code, "output_upload_failed");
    assertEquals(t.finished.outputs, []);
    assertEquals(sendsPerPart(t.store, t.key), [1, 3, 0, 0, 0, 0], "part 2 tried `tries` times, nothing after it");
    assertEquals([t.store.aborted, t.store.completed, t.store.uploads.size], [[t.key], [], 0]);
    assert(!t.finished.error!.message.includes(SIGNATURE), "error message carries no signature");
  } finally {
    await t.dispose();
  }
});

Deno.test("the in-order hash of ranges sent again after a failure equals the sha256 of the file", () => {
  const bytes = expected.subarray(0, 1000);
  const h = new InOrderHash();
  h.feed(0, bytes.subarray(0, 300));
  h.feed(0, bytes.subarray(0, 120)); // a retried part: bytes already hashed
  h.feed(120, bytes.subarray(120, 500));
  h.feed(500, bytes.subarray(500, 1000));
  assertEquals([h.at, h.digest()], [1000, sha256(bytes)]);
  let threw = false;
  try {
    new InOrderHash().feed(10, bytes.subarray(10, 20));
  } catch {
    threw = true;
  }
  assert(threw, "a gap in the bytes is an error, not a wrong hash");
});

Deno.test("behind a proxy, every part, the complete and the abort go through it", async () => {
  const store = new FakeStore();
  store.partBytes = PART;
  store.closeConnections = true;
  const proxy = new TestProxy();
  const dir = await Deno.makeTempDir({ prefix: "lb-multipart-" });
  try {
    const local = `${dir}/ckpt.bin`;
    await Deno.writeFile(local, expected);
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 10, tries: 2, proxyEnv: { httpProxy: proxy.url(), httpsProxy: proxy.url(), noProxy: null } };
    const log = createLogger(() => {});
    const presign = store.presignFor(newId(ID_PREFIX.job));
    const attemptId = newId(ID_PREFIX.attempt);
    const file = { keyPath: "outputs/ckpt.bin", local, size: SIZE };
    const planFor = (f: { upload_id?: string; parts?: number[] }) =>
      presign({ type: "presign.request", request_id: "r", attempt_id: attemptId, multipart: true, files: [{ path: file.keyPath, size: SIZE, ...f }] }).uploads[0]!;
    const ask = (uploadId: string, parts: number[]) => Promise.resolve(planFor({ upload_id: uploadId, parts }).multipart!);
    const first = planFor({});
    const got = await uploadInParts(file, first.multipart!, first.headers!, ask, policy, log, AbortSignal.timeout(20_000));
    assertEquals(got, sha256(expected));
    const storePort = new URL(store.base).port;
    const through = (method: string, what: string) => proxy.requests.filter((r) => r.line.startsWith(`${method} http://127.0.0.1:${storePort}/put/`) && r.line.includes(what)).length;
    assertEquals([through("PUT", "partNumber="), through("POST", "uploadId=")], [6, 1]);

    // A part that fails every try: the abort goes through the proxy too.
    store.failPart.set(1, 100);
    const second = planFor({});
    let failed = false;
    await uploadInParts(file, second.multipart!, second.headers!, ask, policy, log, AbortSignal.timeout(20_000)).catch(() => (failed = true));
    assert(failed, "the upload failed");
    assertEquals(through("DELETE", "uploadId="), 1);
    assertEquals(store.aborted.length, 1);
  } finally {
    await proxy.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
