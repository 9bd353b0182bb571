// An output over the part size, on real processes (oss-local checking real V1 signatures,
// the four services, a Deno agent): the gateway starts a multipart upload and signs its
// part, complete and abort requests; the agent sends the parts and completes; the object
// arrives whole with the sha256 the agent reported, and no multipart upload is left open.
import { createHash } from "node:crypto";
import { MIN_PART_BYTES } from "@labbridge/protocol";
import { createObjectStorage } from "@labbridge/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge } from "../harness/bridge.ts";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

let env: TestEnv;
let bridge: Bridge;

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
/** Smallest part OSS (and oss-local) allows, so a few hundred KB make several parts. */
const PART = MIN_PART_BYTES;

beforeAll(async () => {
  env = await createTestEnv({ LB_LEASE_TTL_SECONDS: "4", LB_HEARTBEAT_SECONDS: "1", LB_LOG_LEVEL: "info", LB_UPLOAD_PART_BYTES: String(PART) });
  bridge = await Bridge.start({ env: env.env });
  await bridge.startAgent({ name: "ws-multipart" });
});

afterAll(async () => {
  await bridge?.stop();
  await env?.cleanup();
});

describe("outputs over the part size", () => {
  it("an output of 35 parts of the smallest size and a short last one arrives whole through the gateway's multipart plan, with the sha256 the agent reported", async () => {
    const metric = (name: string) => bridge.metric(bridge.gatewayUrl, name);
    const before = (await metric("lb_gateway_ws_received_bytes_total")) + (await metric("lb_gateway_ws_sent_bytes_total"));
    const size = 35 * PART + 4321; // more part URLs than one answer hands out: the agent asks for the rest
    const line = "epoch 0042 weights 0123456789abcdef\n";
    const expected = line.repeat(Math.ceil(size / line.length)).slice(0, size);
    const created = await bridge.api("POST", "/v1/jobs", {
      name: "multipart-checkpoint",
      command: ["sh", "-c", `yes "${line.trimEnd()}" | head -c ${size} > "$LB_OUTPUT_DIR/model.safetensors"; echo small > "$LB_OUTPUT_DIR/notes.txt"`],
    });
    expect(created.status).toBe(201);
    const job = await bridge.waitForJob(created.body!.id, ["SUCCEEDED", "FAILED"], 90_000);
    expect([job.state, job.attempts[0].error]).toEqual(["SUCCEEDED", null]);

    const items = (await bridge.api("GET", `/v1/jobs/${job.id}/outputs`)).body!.items as { path: string; key: string; size: number; sha256: string; url: string }[];
    expect(items.map((o) => [o.path, o.size, o.sha256])).toEqual([
      ["model.safetensors", size, sha256(expected)],
      ["notes.txt", 6, sha256("small\n")],
    ]);
    const bytes = Buffer.from(await (await fetch(items[0]!.url)).arrayBuffer());
    expect([bytes.length, sha256(bytes)]).toEqual([size, sha256(expected)]);

    // The big file went in parts (the gateway started one upload for it), the small one in one PUT.
    const started = bridge.child("gateway").lines.flatMap((l) => {
      try {
        const j = JSON.parse(l) as { msg: string; path?: string; parts?: number; upload_id?: string };
        return j.msg === "multipart upload started" ? [j] : [];
      } catch {
        return [];
      }
    });
    expect(started.map((s) => [s.path, s.parts])).toEqual([["outputs/model.safetensors", 36]]);
    const control = (await metric("lb_gateway_ws_received_bytes_total")) + (await metric("lb_gateway_ws_sent_bytes_total")) - before;
    const presigns = bridge.child("gateway").lines.filter((l) => l.includes('"upload urls presigned"')).length;
    console.log(`[multipart outputs] ${size} bytes in 36 parts: ${presigns} presign answers, ${control} B of gateway frames for the whole job (${(control / 36).toFixed(0)} B per part)`);
    // Completed, so the store holds no upload for it any more.
    const storage = createObjectStorage({ ...env.config.storage, endpoint: bridge.ossUrl });
    expect(await storage.listUploadedParts(items[0]!.key, started[0]!.upload_id!)).toBeNull();
    expect(bridge.child("gateway").lines.some((l) => l.includes("Signature="))).toBe(false);
  });
});
