// An attempt with more outputs than one frame can name: presigned in batches whose answer
// fits a frame, reported in acked attempt.outputs chunks (sent again after a reconnect),
// then attempt.finished with their count and digest.
import { MAX_FRAME_BYTES, outputsDigest, type PresignRequestMessage } from "../../packages/protocol/src/index.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { makeAssign, withAgent } from "./helpers/agent_harness.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { FakeStore } from "./helpers/fake_store.ts";

/** A job writing `n` checkpoint-like files under subfolders, 10 per folder. */
function writeShards(n: number): string[] {
  return [
    "sh",
    "-c",
    [
      "i=0",
      `while [ $i -lt ${n} ]; do`,
      '  d="$LB_OUTPUT_DIR/ckpt/epoch-$(printf %04d $((i / 10)))"; mkdir -p "$d"',
      `  printf "shard %d" $i > "$d/shard-$(printf %05d $i)-of-${String(n).padStart(5, "0")}.safetensors"`,
      "  i=$((i + 1))",
      "done",
    ].join("\n"),
  ];
}

const encoder = new TextEncoder();
const bytesOf = (m: unknown) => encoder.encode(JSON.stringify(m)).length;

Deno.test("400 outputs with long names: presigned in batches that fit a frame, reported in acked chunks, all uploaded", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    const assign = makeAssign(writeShards(400));
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id, 30_000);
    assertEquals([f.outcome, f.error], ["succeeded", null]);

    const requests = gw.framesOf("presign.request");
    assert(requests.length > 1, `asked in batches (${requests.length} requests)`);
    assertEquals(requests.flatMap((r) => r.files.map((x) => x.path)).length, 402, "every output and both logs, each asked for once");
    assertEquals(gw.oversized, [], "no presign answer would have been over the frame limit");

    const chunks = gw.framesOf("attempt.outputs");
    assert(chunks.length > 1, `outputs in several chunks (${chunks.length})`);
    assertEquals(chunks.map((c) => c.seq), chunks.map((_, i) => i));
    for (const c of chunks) assert(bytesOf(c) <= MAX_FRAME_BYTES, `chunk ${c.seq} fits a frame`);
    assertEquals(f.outputs, []);
    const outputs = gw.outputsOf(assign.job_id, assign.attempt_id);
    assertEquals(outputs.length, 400);
    assertEquals(f.output_count, 400);
    assertEquals(f.outputs_digest, await outputsDigest(outputs));
    assertEquals(outputs[123]!.path, "ckpt/epoch-0012/shard-00123-of-00400.safetensors");
    for (const o of outputs) assertEquals(store.puts.get(o.key)?.sha256, o.sha256, `upload of ${o.path}`);
    assertEquals(new TextDecoder().decode(store.puts.get(outputs[123]!.key)!.bytes), "shard 123");
    assertEquals(gw.invalid, []);
    await agent.waitLog("attempt reported");
  });
});

Deno.test("a chunk whose ack is lost with the connection is sent again on the next session, then the report follows", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    const assign = makeAssign(writeShards(300));
    gw.presign = store.presignFor(assign.job_id);
    gw.ackOutputs = null; // the first chunks get no ack: the connection drops before it
    await gw.waitFor("hello");
    gw.send(assign);
    const first = await gw.waitFor("attempt.outputs", () => true, 30_000);
    const mark = gw.mark();
    gw.ackOutputs = true;
    gw.drop();
    const again = await gw.waitSince(mark, "attempt.outputs", (c) => c.seq === first.seq);
    assertEquals(again, first, "the same chunk, sent again");
    const f = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id, 30_000);
    assertEquals(f.outcome, "succeeded");
    assertEquals(f.output_count, 300);
    assertEquals(f.outputs_digest, await outputsDigest(gw.outputsOf(assign.job_id, assign.attempt_id)));
    assertEquals(gw.outputsOf(assign.job_id, assign.attempt_id).length, 300);
    assert(gw.frames.find((x) => x.msg.type === "attempt.finished")!.conn > gw.frames[mark - 1]!.conn, "finished went out on the new session");
  });
});

Deno.test("a gateway that finds a presign answer too large gets the files again in smaller batches", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    const assign = makeAssign(writeShards(120));
    const sign = store.presignFor(assign.job_id);
    // Signed headers far bigger than the agent expects: its batches come back too large.
    gw.presign = (req: PresignRequestMessage) => {
      const r = sign(req);
      return { ...r, uploads: r.uploads.map((u) => ({ ...u, headers: { ...u.headers, "x-oss-meta-note": "n".repeat(1500) } })) };
    };
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id, 30_000);
    assert(gw.oversized.length > 0, "some answer was too large");
    assertEquals([f.outcome, f.error], ["succeeded", null]);
    assertEquals(f.output_count, 120);
    assertEquals(gw.outputsOf(assign.job_id, assign.attempt_id).length, 120);
  });
});

Deno.test("a refused chunk stops the chunks and the final report still goes out", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    const assign = makeAssign(writeShards(300));
    gw.presign = store.presignFor(assign.job_id);
    gw.ackOutputs = false;
    gw.ackReports = false;
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id, 30_000);
    assertEquals(f.output_count, 300);
    await agent.waitLog("attempt report not accepted: the server had already settled the attempt");
    assert(gw.framesOf("attempt.outputs").length <= 4, "no more chunks after the refusal than were already in flight");
  });
});

Deno.test("a store that refuses every upload is given up after a few files in a row, not after every file's retries", async () => {
  await withAgent(async ({ gw, store }) => {
    store.failPuts = 1_000_000;
    const assign = makeAssign(writeShards(500));
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id, 30_000);
    assertEquals([f.outcome, f.error?.code, f.output_count], ["failed", "output_upload_failed", 0]);
    assert(f.error!.message.includes("gave up after 8 files in a row failed"), f.error!.message);
    // 8 files in a row, plus what the other workers had under way, each with its 3 tries.
    assert(store.putAttempts.length <= (8 + 3) * 3, `${store.putAttempts.length} PUTs tried`);
  });
});

Deno.test("chunks a gateway never acks are sent again on the same session, and the report completes once it does", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    const assign = makeAssign(writeShards(300));
    gw.presign = store.presignFor(assign.job_id);
    gw.ackOutputs = null; // as when the gateway's MySQL write failed: an error frame, no ack, the connection kept
    await gw.waitFor("hello");
    gw.send(assign);
    const first = await gw.waitFor("attempt.outputs", () => true, 30_000);
    const again = await gw.waitFor("attempt.outputs", (c) => c.seq === first.seq, 5_000, 1);
    assertEquals(again, first);
    gw.ackOutputs = true;
    const f = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id, 30_000);
    assertEquals([f.outcome, f.output_count], ["succeeded", 300]);
    assertEquals(
      new Set(gw.frames.filter((x) => x.msg.type === "attempt.outputs" || x.msg.type === "attempt.finished").map((x) => x.conn)).size,
      1,
      "one session throughout",
    );
  }, { outputsAckTimeoutMs: 300 });
});

Deno.test("the next batch's upload URLs are asked for while the current batch uploads", async () => {
  await withAgent(async ({ gw, store }) => {
    store.putDelayMs = 20;
    const assign = makeAssign(writeShards(120));
    const sign = store.presignFor(assign.job_id);
    const uploadedWhenAsked: number[] = [];
    gw.presign = (req) => {
      uploadedWhenAsked.push(store.puts.size);
      return sign(req);
    };
    await gw.waitFor("hello");
    gw.send(assign);
    await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id, 30_000);
    const requests = gw.framesOf("presign.request");
    assert(requests.length >= 3, `${requests.length} batches`);
    // Without asking ahead, batch 2 would be asked for only once all of batch 1 was stored.
    assert(uploadedWhenAsked[1]! < requests[0]!.files.length, `asked for batch 2 with ${uploadedWhenAsked[1]} of ${requests[0]!.files.length} uploaded`);
    assertEquals(requests.flatMap((r) => r.files).length, 122, "each file asked for once");
  });
});
