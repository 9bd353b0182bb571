// presignBatches sizes presign requests by the bytes of their answer, which is mostly one
// presigned URL per file: the answer to every batch must fit in a frame, for the longest
// paths the protocol allows (multi-byte characters percent-encode to 9 bytes each) as for
// short ones, and in the full answer format of a gateway that predates compact answers.
import { attemptPrefix, ID_PREFIX, MAX_FRAME_BYTES, newId, type PresignResponseMessage } from "../../packages/protocol/src/index.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { presignBatches } from "../src/transfer/presigner.ts";

const job = newId(ID_PREFIX.job);
const att = newId(ID_PREFIX.attempt);
const encoder = new TextEncoder();

/** An answer as the real gateway builds it: an OSS V1 presigned URL per file (key percent-encoded but for "/"). */
function answer(paths: string[], compact: boolean): PresignResponseMessage {
  const uploads = paths.map((path) => {
    const key = attemptPrefix(job, att) + path;
    const url = `https://labbridge-outputs.oss-cn-hangzhou.aliyuncs.com/${key.split("/").map(encodeURIComponent).join("/")}` +
      `?OSSAccessKeyId=LTAI5tAbCdEfGhIjKlMnOpQr&Expires=1767225600&Signature=${encodeURIComponent("q0B1c2D3e4F5g6H7i8J9k0L1m2N=")}`;
    return compact ? { path, url } : { path, key, url, method: "PUT" as const, headers: {} };
  });
  return { type: "presign.response", request_id: "req_01JXXXXXXXXXXXXXXXXXXXXXXX", uploads, error: null };
}

const bytes = (m: unknown) => encoder.encode(JSON.stringify(m)).length;

for (const [name, path] of [
  ["short ASCII paths", (i: number) => `outputs/s${i}.bin`],
  ["checkpoint-like paths", (i: number) => `outputs/ckpt/epoch-${String(i % 100).padStart(4, "0")}/shard-${String(i).padStart(5, "0")}-of-10000.safetensors`],
  ["512-character paths of 3-byte characters", (i: number) => `outputs/${String(i).padStart(6, "0")}/${"検".repeat(512 - 15)}`],
] as const) {
  Deno.test(`presign batches of ${name} each get an answer that fits a frame, compact or full`, () => {
    const files = Array.from({ length: 3000 }, (_, i) => ({ keyPath: path(i) }));
    const batches = presignBatches(job, att, files);
    assertEquals(batches.flat().map((f) => f.keyPath), files.map((f) => f.keyPath), "every file once, in order");
    for (const b of batches) {
      assert(b.length >= 1 && b.length <= 1000, `batch of ${b.length}`);
      const full = bytes(answer(b.map((f) => f.keyPath), false));
      assert(full <= MAX_FRAME_BYTES, `full answer of ${b.length} files is ${full} bytes`);
      assert(bytes(answer(b.map((f) => f.keyPath), true)) < full, "the compact answer is smaller still");
    }
    // Not needlessly small either: a batch's full answer fills at least a quarter of a frame.
    const first = bytes(answer(batches[0]!.map((f) => f.keyPath), false));
    assert(batches[0]!.length === 1000 || first > MAX_FRAME_BYTES / 4, `first batch answer is ${first} bytes`);
  });
}
