import { afterEach, describe, expect, it } from "vitest";
import { ID_PREFIX, MAX_FRAME_BYTES, newId, outputsDigest, type OutputFile } from "@labbridge/protocol";
import { recordOutputs } from "@labbridge/store";
import { waitFor } from "../harness/test_env.ts";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";
import { ScriptedAgent } from "./ws_agent.ts";

// Outputs reported in chunks (attempt.outputs, acked one by one) and the final report that
// gives only their count and digest (docs/decisions/0011-outputs-in-chunks.md), and presign
// responses that never go over the frame limit.

let s: GatewayStack;
stackPerTest((stack) => (s = stack));

const extra: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(extra.splice(0).map((close) => close()));
});

function outputsOf(jobId: string, attemptId: string, n: number, from = 0): OutputFile[] {
  return Array.from({ length: n }, (_, i) => {
    const path = `ckpt/epoch-0001/shard-${String(from + i).padStart(5, "0")}-of-10000.safetensors`;
    return { path, key: `jobs/${jobId}/${attemptId}/outputs/${path}`, size: from + i, sha256: (from + i).toString(16).padStart(64, "0") };
  });
}

async function outputRows(attemptId: string): Promise<{ path: string }[]> {
  const [rows] = await s.pool.query("SELECT path FROM job_outputs WHERE attempt_id = ? ORDER BY path", [attemptId]);
  return rows as { path: string }[];
}

/** A second gateway on the same Redis prefix, database and clock. */
const secondGateway = () => s.anotherGateway();

describe("outputs in chunks", () => {
  it("a chunk sent twice, and again after a reconnect to another gateway, is recorded once and acked each time", async () => {
    const { agent, credential } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const outputs = outputsOf(jobId, attemptId, 3);
    const chunk = { type: "attempt.outputs", attempt_id: attemptId, seq: 0, outputs };
    agent.send(chunk);
    agent.send(chunk);
    expect(await agent.next("attempt.outputs_ack")).toEqual({ type: "attempt.outputs_ack", attempt_id: attemptId, seq: 0, accepted: true });
    expect(await agent.next("attempt.outputs_ack")).toMatchObject({ seq: 0, accepted: true });

    const other = await secondGateway();
    agent.terminate();
    const again = await ScriptedAgent.connect(`ws://127.0.0.1:${other.port}/v1/agent`, credential);
    extra.push(async () => again.terminate());
    again.hello({ running: [attemptId] });
    await again.next("welcome");
    again.send(chunk);
    expect(await again.next("attempt.outputs_ack")).toMatchObject({ seq: 0, accepted: true });
    expect(await outputRows(attemptId)).toEqual(outputs.map((o) => ({ path: o.path })));

    again.send({
      type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null, outputs: [],
      output_count: 3, outputs_digest: await outputsDigest(outputs),
    });
    expect(await again.next("attempt.report_ack")).toMatchObject({ accepted: true });
    const done = await s.jobIn(jobId, "SUCCEEDED");
    expect(done.outputs.map((o) => o.path)).toEqual(outputs.map((o) => o.path));
  });

  it("10,000 outputs in chunks end SUCCEEDED with every one recorded, and the stream entry carries only their count and digest", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const all = outputsOf(jobId, attemptId, 10_000);
    const perChunk = 150;
    for (let seq = 0; seq * perChunk < all.length; seq++) {
      const chunk = { type: "attempt.outputs", attempt_id: attemptId, seq, outputs: all.slice(seq * perChunk, (seq + 1) * perChunk) };
      expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThan(MAX_FRAME_BYTES);
      agent.send(chunk);
    }
    const chunks = Math.ceil(all.length / perChunk);
    await waitFor(async () => agent.all("attempt.outputs_ack").length === chunks, 30_000, "every chunk acked");
    expect(agent.all("attempt.outputs_ack").every((a) => a.accepted)).toBe(true);
    agent.send({
      type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null, outputs: [],
      output_count: all.length, outputs_digest: await outputsDigest(all),
    });
    expect(await agent.next("attempt.report_ack")).toMatchObject({ accepted: true });
    const done = await s.jobIn(jobId, "SUCCEEDED", 20_000);
    expect(done.outputs).toHaveLength(10_000);
    const entry = (await s.entries(s.gw.ctx.streams.agentEvents)).find((e) => e.type === "attempt.succeeded" && e.attempt_id === attemptId)!;
    expect(JSON.parse(entry.data!)).toEqual({ exit_code: 0, error: null, output_count: 10_000, outputs_digest: await outputsDigest(all), session_id: expect.stringMatching(/^ses_/) });
    expect(entry.data!.length).toBeLessThan(4096);
  });

  it("a chunk may leave its keys out: they are recorded as the keys their paths give", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const outputs = outputsOf(jobId, attemptId, 2);
    agent.send({ type: "attempt.outputs", attempt_id: attemptId, seq: 0, outputs: outputs.map(({ key: _key, ...rest }) => rest) });
    expect(await agent.next("attempt.outputs_ack")).toMatchObject({ accepted: true });
    const [rows] = await s.pool.query("SELECT path, object_key FROM job_outputs WHERE attempt_id = ? ORDER BY path", [attemptId]);
    expect(rows).toEqual(outputs.map((o) => ({ path: o.path, object_key: o.key })));
  });

  it("a chunk for an attempt leased to another agent, or to none, is refused and records nothing", async () => {
    const owner = await s.newAgent({ role: "owner" });
    const thief = await s.newAgent();
    const { jobId, attemptId } = await s.running(owner.agent, { requirements: { labels: { role: "owner" } } });
    thief.agent.send({ type: "attempt.outputs", attempt_id: attemptId, seq: 0, outputs: outputsOf(jobId, attemptId, 2) });
    expect(await thief.agent.next("attempt.outputs_ack")).toEqual({ type: "attempt.outputs_ack", attempt_id: attemptId, seq: 0, accepted: false });
    const stray = newId(ID_PREFIX.attempt);
    thief.agent.send({ type: "attempt.outputs", attempt_id: stray, seq: 0, outputs: outputsOf(jobId, stray, 1) });
    expect(await thief.agent.next("attempt.outputs_ack")).toMatchObject({ attempt_id: stray, accepted: false });
    expect(await outputRows(attemptId)).toEqual([]);
    expect(await outputRows(stray)).toEqual([]);
  });

  it("a chunk after the attempt's lease expired is refused", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    s.advance(s.env.config.leaseTtlSeconds * 1000 + 1);
    agent.send({ type: "attempt.outputs", attempt_id: attemptId, seq: 0, outputs: outputsOf(jobId, attemptId, 1) });
    expect(await agent.next("attempt.outputs_ack")).toMatchObject({ accepted: false });
    expect(await outputRows(attemptId)).toEqual([]);
  });

  it("a chunk with a key outside the attempt's prefix is refused and records none of its outputs", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const outputs = outputsOf(jobId, attemptId, 2);
    outputs[1] = { ...outputs[1]!, key: `jobs/job_other/att_other/outputs/${outputs[1]!.path}` };
    agent.send({ type: "attempt.outputs", attempt_id: attemptId, seq: 0, outputs });
    expect(await agent.next("error")).toMatchObject({ code: "validation_failed", message: expect.stringContaining(outputs[1]!.path) });
    expect(await agent.next("attempt.outputs_ack")).toMatchObject({ seq: 0, accepted: false });
    expect(await outputRows(attemptId)).toEqual([]);
  });

  it("a chunk for an attempt that has already ended is refused, so a finished job's outputs never change", async () => {
    const { agentId, agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    agent.send({ type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null, outputs: [], output_count: 0, outputs_digest: await outputsDigest([]) });
    await s.jobIn(jobId, "SUCCEEDED");
    agent.send({ type: "attempt.outputs", attempt_id: attemptId, seq: 0, outputs: outputsOf(jobId, attemptId, 1) });
    expect(await agent.next("attempt.outputs_ack")).toMatchObject({ accepted: false });
    // Even a gateway that still saw a live lease (the race between its check and the write) records nothing: MySQL is the fence.
    expect(await recordOutputs(s.pool, { jobId, attemptId, agentId, outputs: outputsOf(jobId, attemptId, 1) })).toBe("settled");
    expect(await outputRows(attemptId)).toEqual([]);
  });
});

describe("the final report checks the outputs it counts", () => {
  it("a finished report whose count is more than was recorded ends FAILED with output_upload_failed, not SUCCEEDED", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const all = outputsOf(jobId, attemptId, 5);
    agent.send({ type: "attempt.outputs", attempt_id: attemptId, seq: 0, outputs: all.slice(0, 4) });
    await agent.next("attempt.outputs_ack");
    agent.send({
      type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null, outputs: [],
      output_count: 5, outputs_digest: await outputsDigest(all),
    });
    expect(await agent.next("attempt.report_ack")).toMatchObject({ accepted: true });
    const failed = await s.jobIn(jobId, "FAILED");
    expect(failed.attempts[0]).toMatchObject({ state: "FAILED", exit_code: 0, error: { code: "output_upload_failed", message: "The agent reported 5 outputs but 4 were recorded" } });
    expect(failed.history.at(-1)?.cause).toBe("output_upload_failed");
  });

  it("a finished report whose digest does not match the recorded outputs ends FAILED, not SUCCEEDED", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const all = outputsOf(jobId, attemptId, 3);
    agent.send({ type: "attempt.outputs", attempt_id: attemptId, seq: 0, outputs: all });
    await agent.next("attempt.outputs_ack");
    const tampered = [...all.slice(0, 2), { ...all[2]!, sha256: "f".repeat(64) }];
    agent.send({
      type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null, outputs: [],
      output_count: 3, outputs_digest: await outputsDigest(tampered),
    });
    const failed = await s.jobIn(jobId, "FAILED");
    expect(failed.attempts[0]).toMatchObject({ error: { code: "output_upload_failed", message: expect.stringContaining("do not match") } });
  });

  it("an old-style report listing its outputs inline still ends SUCCEEDED with them recorded", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const outputs = outputsOf(jobId, attemptId, 20);
    agent.send({ type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null, outputs });
    expect(await agent.next("attempt.report_ack")).toMatchObject({ accepted: true });
    expect((await s.jobIn(jobId, "SUCCEEDED")).outputs.map((o) => o.path)).toEqual(outputs.map((o) => o.path));
    const entry = (await s.entries(s.gw.ctx.streams.agentEvents)).find((e) => e.type === "attempt.succeeded")!;
    expect(JSON.parse(entry.data!)).toMatchObject({ output_count: 20 });
    expect(JSON.parse(entry.data!).outputs).toBeUndefined();
  });
});

describe("presign responses fit in a frame", () => {
  it("a presign request whose URLs would not fit in one frame gets payload_too_large instead of an oversized frame", async () => {
    const { agent } = await s.newAgent();
    const { attemptId } = await s.running(agent);
    // 150 checkpoint-like names: the response of the original finding, 70 KB.
    const files = Array.from({ length: 150 }, (_, i) => ({ path: `outputs/checkpoints/step-${String(i).padStart(6, "0")}/model-00001-of-00002.safetensors`, size: 1 }));
    agent.send({ type: "presign.request", request_id: "big", attempt_id: attemptId, files });
    const refused = await agent.next("presign.response", (m) => m.request_id === "big");
    expect(refused).toMatchObject({ uploads: [], error: { code: "payload_too_large", message: expect.stringContaining("ask for fewer files") } });
    agent.send({ type: "presign.request", request_id: "half", attempt_id: attemptId, files: files.slice(0, 75) });
    const ok = await agent.next("presign.response", (m) => m.request_id === "half");
    expect(ok.error).toBeNull();
    expect(ok.uploads).toHaveLength(75);
    expect(agent.isOpen).toBe(true);
  });

  it("a compact presign answer gives each path its URL only, and takes fewer bytes than the full one", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const files = [{ path: "outputs/ckpt/epoch-0001/shard-00001.safetensors", size: 1 }, { path: "logs/stdout.log", size: 2 }];
    agent.send({ type: "presign.request", request_id: "full", attempt_id: attemptId, files });
    agent.send({ type: "presign.request", request_id: "compact", attempt_id: attemptId, files, compact: true });
    const full = await agent.next("presign.response", (m) => m.request_id === "full");
    const compact = await agent.next("presign.response", (m) => m.request_id === "compact");
    expect(compact.error).toBeNull();
    expect(compact.uploads.map((u) => Object.keys(u).sort())).toEqual([["path", "url"], ["path", "url"]]);
    expect(compact.uploads.map((u) => new URL(u.url!).pathname)).toEqual(files.map((f) => `/jobs/${jobId}/${attemptId}/${f.path}`));
    expect(full.uploads.map((u) => [u.key, u.method])).toEqual(files.map((f) => [`jobs/${jobId}/${attemptId}/${f.path}`, "PUT"]));
    expect(JSON.stringify(compact).length).toBeLessThan(JSON.stringify(full).length - 2 * 100);
  });
});
