import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { CLOSE_CODES } from "@labbridge/protocol";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";
import type { ScriptedAgent } from "./ws_agent.ts";

// Compressed frames between a real agent socket and the real gateway (frame_codec.ts,
// decision 0014): agreed in hello and welcome; large frames deflated both ways, small
// ones text; a binary frame is only taken from a session that agreed, and never inflated
// past the frame limit.

let s: GatewayStack;
stackPerTest((stack) => (s = stack));

const presignFiles = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `outputs/ckpt/epoch-0001/shard-${String(i).padStart(5, "0")}.safetensors`, size: 1000 + i }));

async function presignedOnce(agent: ScriptedAgent, attemptId: string, n: number) {
  agent.send({ type: "presign.request", request_id: "req_1", attempt_id: attemptId, compact: true, files: presignFiles(n) });
  return agent.next("presign.response", (m) => m.request_id === "req_1");
}

describe("compressed frames", () => {
  it("an agent that offers deflate-raw is welcomed with it, and a large answer comes back deflated, a fraction of its text", async () => {
    const { agentId, credential } = await s.enroll();
    const { agent, welcome } = await s.online(credential, { compression: ["deflate-raw"] });
    expect(welcome.compression).toBe("deflate-raw");
    const { attemptId } = await s.running(agent);
    const sentBefore = await s.metric("lb_gateway_ws_sent_bytes_total");
    const answer = await presignedOnce(agent, attemptId, 100);
    const sent = (await s.metric("lb_gateway_ws_sent_bytes_total")) - sentBefore;
    expect(answer.error).toBeNull();
    expect(answer.uploads).toHaveLength(100);
    expect(agent.binaryTypes).toEqual(["presign.response"]);
    // The counters count wire bytes: the deflated frame, not the text it holds.
    expect(sent).toBeLessThan(JSON.stringify(answer).length / 4);
    // Small frames stay text.
    await s.heartbeat(agent, agentId);
    await agent.next("heartbeat.ack");
    expect(agent.binaryTypes).toEqual(["presign.response"]);
  });

  it("a deflated frame from an agent that agreed is read like its text", async () => {
    const { credential } = await s.enroll();
    const { agent } = await s.online(credential, { compression: ["deflate-raw"] });
    const { attemptId } = await s.running(agent);
    agent.sendRaw(deflateRawSync(JSON.stringify({ type: "presign.request", request_id: "req_z", attempt_id: attemptId, compact: true, files: presignFiles(50) })), true);
    const answer = await agent.next("presign.response", (m) => m.request_id === "req_z");
    expect(answer.uploads.map((u) => u.path)).toEqual(presignFiles(50).map((f) => f.path));
    expect(agent.isOpen).toBe(true);
  });

  it("without the offer the welcome names no compression, answers stay text, and a binary frame closes the session with 4400", async () => {
    const { credential } = await s.enroll();
    const { agent, welcome } = await s.online(credential);
    expect(welcome.compression ?? null).toBeNull();
    const { attemptId } = await s.running(agent);
    expect((await presignedOnce(agent, attemptId, 100)).uploads).toHaveLength(100);
    expect(agent.binaryTypes).toEqual([]);
    agent.sendRaw(deflateRawSync(JSON.stringify({ type: "heartbeat", running: [] })), true);
    expect((await agent.waitClosed()).code).toBe(CLOSE_CODES.malformed);
  });

  it("a small deflated frame that inflates past 64 KiB closes the session with 4413, and garbage with 4400", async () => {
    const { credential } = await s.enroll();
    const { agent } = await s.online(credential, { compression: ["deflate-raw"] });
    const bomb = deflateRawSync(JSON.stringify({ type: "heartbeat", running: [], pad: " ".repeat(8 * 1024 * 1024) }));
    expect(bomb.byteLength).toBeLessThan(64 * 1024);
    agent.sendRaw(bomb, true);
    expect((await agent.waitClosed()).code).toBe(CLOSE_CODES.too_large);
    expect(agent.all("error")).toEqual([expect.objectContaining({ code: "payload_too_large" })]);

    const { agent: again } = await s.online(credential, { compression: ["deflate-raw"] });
    again.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]), true);
    expect((await again.waitClosed()).code).toBe(CLOSE_CODES.malformed);
  });
});
