import { describe, expect, it } from "vitest";
import { CLOSE_CODES, ID_PREFIX, LOG_ALLOWANCE, newId } from "@labbridge/protocol";
// The agent's own limiter (plain TypeScript, no Deno API), so the frames are the ones it sends.
import { DEFAULT_LIVE_LOG_LIMITS, LiveLog } from "../../agent/src/attempt/live_log.ts";
import { waitFor } from "../harness/test_env.ts";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";
import type { ScriptedAgent } from "./ws_agent.ts";

// attempt.log on a real gateway: lines of the agent's own leased attempt become job.log
// entries on job-events (the API's live view reads them), anyone else's are dropped, an
// agent at its own cap is never cut, and a flood past the per-attempt allowance is.

let s: GatewayStack;
stackPerTest((stack) => (s = stack));

/** Sends a heartbeat and waits for its ack: every frame sent before on this socket has been handled by then. */
async function afterGatewayAnswered(agent: ScriptedAgent, running: string[]): Promise<void> {
  const before = agent.all("heartbeat.ack").length;
  agent.send({ type: "heartbeat", running });
  await waitFor(() => agent.all("heartbeat.ack").length > before, 5000, "heartbeat.ack");
}

const logEntries = async () => (await s.entries(`${s.env.config.prefix}:job-events`)).filter((e) => e.type === "job.log");

describe("attempt.log", () => {
  it("lines of the agent's own running attempt become one job.log entry per frame on job-events; lines naming another attempt are dropped", async () => {
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const bytesBefore = await s.metric("lb_gateway_log_frame_bytes_total");
    const frame = { type: "attempt.log", attempt_id: attemptId, stdout: ["epoch 1", "… 3 lines skipped"], stderr: ["warning: x"], skipped: { stdout: 3 } };
    agent.send(frame);
    agent.send({ type: "attempt.log", attempt_id: newId(ID_PREFIX.attempt), stdout: ["not yours"] });
    await afterGatewayAnswered(agent, [attemptId]);
    const entries = await waitFor(async () => ((await logEntries()).length > 0 ? await logEntries() : null), 5000, "job.log entry");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ job_id: jobId, attempt_id: attemptId });
    expect(JSON.parse(entries[0]!.data!)).toEqual({ stdout: ["epoch 1", "… 3 lines skipped"], stderr: ["warning: x"], skipped: { stdout: 3 } });
    expect(await s.metric("lb_gateway_log_frame_bytes_total") - bytesBefore).toBeGreaterThanOrEqual(JSON.stringify(frame).length);
    expect(agent.isOpen).toBe(true);
  });

  it("the API's event stream gives one log event per line, each frame's stdout before its stderr, the entry's id on its last line, and ends with the job", async () => {
    const api = await s.startApi();
    const { agent } = await s.newAgent();
    const { jobId, attemptId } = await s.running(agent);
    const res = await fetch(`http://127.0.0.1:${api.port}/v1/jobs/${jobId}/events`, { headers: { authorization: `Bearer ${s.env.config.adminToken}` } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const until = async (pred: () => boolean) => {
      while (!pred()) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    };
    await until(() => text.includes("event: job"));
    agent.send({ type: "attempt.log", attempt_id: attemptId, stdout: ["a1", "a2"], stderr: ["e1"] });
    agent.send({ type: "attempt.log", attempt_id: attemptId, stderr: ["e2"] });
    await afterGatewayAnswered(agent, [attemptId]);
    agent.send({ type: "attempt.finished", attempt_id: attemptId, outcome: "succeeded", exit_code: 0, error: null, outputs: [] });
    await until(() => false); // the API ends the stream after the final state
    const events = text.split("\n\n").filter((e) => e.startsWith("event: log")).map((e) => ({
      id: /^id: (.*)$/m.exec(e)?.[1] ?? null,
      data: JSON.parse(/^data: (.*)$/m.exec(e)![1]!),
    }));
    expect(events.map((e) => [e.data.stream, e.data.line])).toEqual([["stdout", "a1"], ["stdout", "a2"], ["stderr", "e1"], ["stderr", "e2"]]);
    expect(events.every((e) => e.data.job_id === jobId && e.data.attempt_id === attemptId && typeof e.data.at === "string")).toBe(true);
    const raw = await s.gw.ctx.redis.xrange(`${s.env.config.prefix}:job-events`, "-", "+");
    const ids = raw.filter(([, f]) => f[1] === "job.log").map(([id]) => id);
    expect(events.map((e) => e.id)).toEqual([null, null, ids[0], ids[1]]);
    expect(text.indexOf("event: log")).toBeLessThan(text.indexOf("SUCCEEDED"));
  });

  it("an agent sending at its default cap for 60 s (a job printing 1 MB/s, both streams) is never cut, and what it sends stays within a few KB a second", async () => {
    const { agent } = await s.newAgent();
    const { attemptId } = await s.running(agent);
    const limits = DEFAULT_LIVE_LOG_LIMITS;
    const live = new LiveLog(limits, () => s.now);
    const chunk = new TextEncoder().encode(("x".repeat(199) + "\n").repeat(2500)); // 500 KB: 1 MB/s at one chunk per flush
    const bytesBefore = await s.metric("lb_gateway_log_frame_bytes_total");
    const flushes = 60_000 / limits.flushMs;
    for (let i = 0; i < flushes; i++) {
      live.push(i % 2 ? "stderr" : "stdout", chunk);
      s.advance(limits.flushMs);
      const batch = live.take();
      if (batch) agent.send({ type: "attempt.log", attempt_id: attemptId, ...batch });
      await afterGatewayAnswered(agent, [attemptId]);
    }
    expect(agent.isOpen).toBe(true);
    const perSecond = (await s.metric("lb_gateway_log_frame_bytes_total") - bytesBefore) / 60;
    expect(perSecond).toBeLessThan(6 * 1024);
    expect(live.totals.skipped).toBeGreaterThan(100_000);
    await waitFor(async () => (await logEntries()).length === flushes || null, 10_000, "every frame forwarded");
  });

  it("a flood past the attempt's allowance is cut with 4429, whatever attempt it names", async () => {
    const { agent } = await s.newAgent();
    const line = "y".repeat(1000);
    const frame = { type: "attempt.log", attempt_id: newId(ID_PREFIX.attempt), stdout: Array.from({ length: 60 }, () => line) };
    const frames = Math.ceil(LOG_ALLOWANCE.byteBurst / 60_000) + 1;
    for (let i = 0; i < frames; i++) agent.send(frame);
    const closed = await agent.waitClosed(10_000);
    expect(closed.code).toBe(CLOSE_CODES.rate_limited);
    expect(agent.all("error").at(-1)).toMatchObject({ code: "rate_limited", message: expect.stringContaining("over its allowance") });
  });
});
