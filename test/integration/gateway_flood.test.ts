import { describe, expect, it } from "vitest";
import { CLOSE_CODES, ID_PREFIX, newId } from "@labbridge/protocol";
import { CapturedLog } from "./captured_log.ts";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";

// The heartbeat flood of the finding, on a real gateway: one agent sends 5,000 heartbeats
// naming 50 attempt ids that are not its own, as fast as it can, while another agent
// heartbeats as usual. The flood must cost the gateway a bounded handful of frames, bytes
// and log lines, and the other agent must not notice. (loadtest/gateway_flood.ts measures
// the same against a gateway process, with RSS and round trips.)

let s: GatewayStack;
let log: CapturedLog;
stackPerTest((stack) => (s = stack), () => ({ gatewayLog: (log = new CapturedLog()).logger }));

describe("a heartbeat flood", () => {
  it("is cut off with 4429 after its burst: no abort frames, a few hundred bytes and a few log lines, and another agent's heartbeats are answered throughout", async () => {
    const good = await s.newAgent();
    const flooder = await s.newAgent();
    const foreign = Array.from({ length: 50 }, () => newId(ID_PREFIX.attempt));
    const frame = JSON.stringify({ type: "heartbeat", running: foreign });
    const sentBefore = await s.metric("lb_gateway_ws_sent_bytes_total");
    const framesBefore = flooder.agent.received.length;
    log.clear();

    for (let i = 0; i < 5000; i++) flooder.agent.sendRaw(frame);
    for (let i = 0; i < 3; i++) {
      s.advance(100);
      await s.heartbeat(good.agent, good.agentId);
      await good.agent.next("heartbeat.ack");
    }
    expect((await flooder.agent.waitClosed(10_000)).code).toBe(CLOSE_CODES.rate_limited);

    const back = flooder.agent.received.slice(framesBefore);
    expect(back.filter((m) => m.type === "attempt.abort")).toEqual([]);
    expect(back.length).toBeLessThanOrEqual(11); // at most its burst of acks, and the error
    expect(await s.metric("lb_gateway_ws_sent_bytes_total") - sentBefore).toBeLessThan(2048);
    expect(log.lines.length).toBeLessThanOrEqual(5);
    expect(log.bytes).toBeLessThan(4096);
    expect(good.agent.isOpen).toBe(true);
  });
});
