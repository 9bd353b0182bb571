import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLOSE_CODES, ID_PREFIX, newId } from "@labbridge/protocol";
import { TcpProxy } from "../harness/tcp_proxy.ts";
import { GatewayStack } from "./gateway_stack.ts";

// A gateway that loses Redis cannot answer an agent's frames. It must not leave the agent
// waiting on per-request timeouts (a presign request waits a minute): it closes the
// session with 1011 so the agent reconnects and asks again.

let s: GatewayStack;
let redisLink: TcpProxy;

beforeEach(async () => {
  redisLink = await TcpProxy.start({ name: "gateway-redis", target: { host: "127.0.0.1", port: 6379 } });
  s = await GatewayStack.start({ gatewayRedisUrl: `redis://127.0.0.1:${redisLink.port}` });
});

afterEach(async () => {
  await s.stop();
  await redisLink.close();
});

describe("a gateway without Redis", () => {
  it("closes the session with 1011 when it cannot answer a frame, instead of leaving the request unanswered", async () => {
    const { agent } = await s.newAgent();
    redisLink.cut();
    agent.send({ type: "presign.request", request_id: newId(ID_PREFIX.request), attempt_id: newId(ID_PREFIX.attempt), files: [{ path: "logs/stdout.log", size: 1 }] });
    const closed = await agent.waitClosed(15_000);
    expect(closed.code).toBe(CLOSE_CODES.unavailable);
    expect(agent.all("presign.response")).toEqual([]);
  });

  it("heartbeats renewed in one batch all fail with the batch: each session is told and closed with 1011, as one failed heartbeat is", async () => {
    const agents = await Promise.all([s.newAgent(), s.newAgent(), s.newAgent()]);
    redisLink.cut();
    // Sent together: they reach the gateway within one batch window.
    for (const { agent } of agents) agent.send({ type: "heartbeat", running: [] });
    for (const { agent } of agents) {
      expect((await agent.waitClosed(15_000)).code).toBe(CLOSE_CODES.unavailable);
      expect(agent.all("error")).toEqual([expect.objectContaining({ code: "unavailable" })]);
      expect(agent.all("heartbeat.ack")).toEqual([]);
    }
  });
});
