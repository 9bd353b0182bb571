import { describe, expect, it } from "vitest";
import { CLOSE_CODES, ID_PREFIX, newId } from "@labbridge/protocol";
import { listAudit } from "@labbridge/store";
import { waitFor } from "../harness/test_env.ts";
import { CapturedLog } from "./captured_log.ts";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";

// What an authenticated session may not do on a real gateway: send one frame type faster
// than its bucket allows, reconnect in a loop, send a frame of any size over the limit
// without a clear 4413, cost the gateway abort frames and log lines by naming attempts
// that are not its own, or change the OS it was enrolled with; nor may an address fill
// the audit trail with refused credentials.

let s: GatewayStack;
let log: CapturedLog;
stackPerTest((stack) => (s = stack), () => ({ gatewayLog: (log = new CapturedLog()).logger }));

const FOREIGN_WARNING = "session names attempts that are not its own; ignoring them for the rest of the session";

describe("rate limits", () => {
  it("a session sending heartbeats faster than its bucket allows is told why and closed with 4429", async () => {
    const { agent } = await s.newAgent();
    for (let i = 0; i < 10; i++) agent.send({ type: "heartbeat", running: [] });
    for (let i = 0; i < 10; i++) await agent.next("heartbeat.ack");
    agent.send({ type: "heartbeat", running: [] }); // the clock has not moved: the bucket is empty
    expect(await agent.waitClosed()).toEqual({ code: CLOSE_CODES.rate_limited, reason: "rate limited" });
    expect(agent.all("error")).toEqual([{ type: "error", code: "rate_limited", message: 'Too many "heartbeat" frames: the limit is 10 at once and 4 a second' }]);
  });

  it("heartbeats at the configured interval, jittered, never reach the limit", async () => {
    const { agentId, agent } = await s.newAgent();
    const intervalMs = s.env.config.heartbeatSeconds * 1000;
    for (let i = 0; i < 24; i++) {
      s.advance(intervalMs * (i % 2 ? 0.9 : 1.1));
      await s.heartbeat(agent, agentId);
    }
    expect(agent.isOpen).toBe(true);
    expect(agent.all("error")).toEqual([]);
  });

  it("a burst of 200 presign requests at one instant, as for a 10,000-output attempt, is answered in full", async () => {
    const { agent } = await s.newAgent();
    const { attemptId } = await s.running(agent);
    for (let i = 0; i < 200; i++) {
      agent.send({ type: "presign.request", request_id: `r${i}`, attempt_id: attemptId, files: [{ path: `outputs/f${i}.bin`, size: 1 }] });
    }
    await agent.next("presign.response", (m) => m.request_id === "r199", 15_000);
    expect(agent.all("presign.response").filter((m) => m.error === null)).toHaveLength(200);
    expect(agent.isOpen).toBe(true);
  });
});

describe("connection limits", () => {
  it("a credential opening more than 20 connections at once gets 4429 at the upgrade, claiming no session, until its bucket refills", async () => {
    const { agentId, credential } = await s.enroll();
    for (let i = 0; i < 20; i++) {
      const c = await s.connect("/v1/agent", credential);
      expect(c.isOpen, `connection ${i + 1}`).toBe(true);
      await c.close();
    }
    const over = await s.connect("/v1/agent", credential);
    expect(await over.waitClosed()).toEqual({ code: CLOSE_CODES.rate_limited, reason: "Too many connections with this credential; reconnect later" });
    expect(over.all("error")).toEqual([expect.objectContaining({ code: "rate_limited" })]);
    expect(await s.gw.ctx.presence.session(agentId)).toBeNull();
    s.advance(5000); // one connection's worth
    const { welcome } = await s.online(credential);
    expect((await s.gw.ctx.presence.session(agentId))?.sessionId).toBe(welcome.session_id);
  });

  it("past 20 refused credentials from one address, refusals still close with 4401 but write no audit rows, and live credentials from it still connect", async () => {
    for (let i = 0; i < 25; i++) {
      const c = await s.connect("/v1/agent", `lba_wrong${i}`);
      expect((await c.waitClosed()).code).toBe(CLOSE_CODES.unauthorized);
    }
    expect(await listAudit(s.pool, { limit: 1000 })).toHaveLength(20);
    expect(log.withMsg("agent credential refused")).toHaveLength(20);
    expect(log.withMsg("address keeps presenting refused credentials; refusing without audit rows (logged once a minute)")).toHaveLength(1);
    await s.newAgent();
  });
});

describe("frame size", () => {
  for (const mib of [2, 20]) {
    it(`a ${mib} MiB frame is refused with 4413 and a close frame, not dropped (1006)`, async () => {
      const { agent } = await s.newAgent();
      agent.sendRaw(JSON.stringify({ type: "heartbeat", running: [], pad: "x".repeat(mib * 1024 * 1024) }));
      expect(await agent.waitClosed(15_000)).toEqual({ code: CLOSE_CODES.too_large, reason: "frame too large" });
      expect(agent.all("error")).toEqual([expect.objectContaining({ code: "payload_too_large" })]);
    });
  }
});

describe("attempt ids that are not the session's own", () => {
  it("heartbeats naming other agents' and made-up attempts get no abort frames and one warning per session; the session's own lost attempt is still aborted", async () => {
    const other = await s.newAgent();
    const { attemptId: othersAttempt } = await s.running(other.agent);
    const othersLease = await s.gw.ctx.leases.get(othersAttempt);
    const { agentId, agent } = await s.newAgent();
    const { attemptId: own } = await s.running(agent);
    await s.gw.ctx.leases.release(own); // its lease is gone, as after the reaper took it
    const madeUp = Array.from({ length: 50 }, () => newId(ID_PREFIX.attempt));
    log.clear();
    for (let i = 0; i < 5; i++) {
      s.advance(100);
      await s.heartbeat(agent, agentId, [own, othersAttempt, ...madeUp]);
      await agent.next("heartbeat.ack");
    }
    expect(agent.all("attempt.abort")).toEqual(Array.from({ length: 5 }, () => ({ type: "attempt.abort", attempt_id: own, reason: "lease_lost" })));
    expect(log.withMsg(FOREIGN_WARNING)).toEqual([expect.objectContaining({ level: "warn", agent_id: agentId, foreign: 51 })]);
    expect(log.lines.filter((l) => l.attempt_id === othersAttempt || madeUp.includes(l.attempt_id as string))).toEqual([]);
    // Naming another agent's attempt does not renew its lease.
    expect((await s.gw.ctx.leases.get(othersAttempt))?.expiresAt).toBe(othersLease?.expiresAt);
  });

  it("a hello naming attempts that are not the agent's own gets no abort frames for them", async () => {
    const { credential, agentId } = await s.enroll();
    const madeUp = Array.from({ length: 50 }, () => newId(ID_PREFIX.attempt));
    const { agent } = await s.online(credential, { running: madeUp });
    await s.heartbeat(agent, agentId, madeUp);
    await agent.next("heartbeat.ack");
    expect(agent.all("attempt.abort")).toEqual([]);
    expect(log.withMsg(FOREIGN_WARNING)).toHaveLength(1);
  });
});

describe("the enrolled OS", () => {
  it("a hello claiming another OS is logged once and does not change the recorded OS", async () => {
    const { agentId, credential } = await s.enroll(); // enrolled as linux
    const { agent, welcome } = await s.online(credential, { os: "windows" });
    expect(await s.agentRow(agentId)).toMatchObject({ os: "linux", session_id: welcome.session_id });
    const claims = log.withMsg("hello claims another OS than the enrolled one; keeping the enrolled OS");
    expect(claims).toEqual([expect.objectContaining({ agent_id: agentId, claimed_os: "windows", enrolled_os: "linux" })]);
    await agent.close();
    await waitFor(async () => (await s.gw.ctx.presence.session(agentId)) === null, 5000, "presence removed");
    await s.online(credential, { os: "windows" }); // returns once MySQL has the new session: the scheduler recorded it
    expect((await s.agentRow(agentId))?.os).toBe("linux");
    expect(log.withMsg("hello claims another OS than the enrolled one; keeping the enrolled OS")).toHaveLength(2);
  });
});
