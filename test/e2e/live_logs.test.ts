// Live logs end to end on real processes: a Deno agent runs a job that prints stdout and
// stderr, the real gateway forwards its attempt.log frames, and the real API streams them
// as SSE `log` events. A job printing 1 MB/s for 10 s costs the control plane a few KB/s.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge } from "../harness/bridge.ts";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

let env: TestEnv;
let bridge: Bridge;

beforeAll(async () => {
  env = await createTestEnv({ LB_LEASE_TTL_SECONDS: "4", LB_HEARTBEAT_SECONDS: "1", LB_LOG_LEVEL: "info" });
  bridge = await Bridge.start({ env: env.env });
  await bridge.startAgent();
}, 120_000);

afterAll(async () => {
  await bridge?.stop();
  await env?.cleanup();
});

interface SseEvent {
  event: string;
  id: string | null;
  data: Record<string, any>;
}

/** Reads a job's event stream until the API ends it (the job reached a final state). */
async function readEvents(jobId: string): Promise<SseEvent[]> {
  const res = await fetch(`${bridge.apiUrl}/v1/jobs/${jobId}/events`, { headers: { authorization: `Bearer ${env.config.adminToken}` } });
  expect(res.status).toBe(200);
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
  return text.split("\n\n").filter((e) => e.startsWith("event:")).map((e) => ({
    event: /^event: (.*)$/m.exec(e)![1]!,
    id: /^id: (.*)$/m.exec(e)?.[1] ?? null,
    data: JSON.parse(/^data: (.*)$/m.exec(e)![1]!),
  }));
}

const gatewayMetric = (name: string) => bridge.metric(bridge.gatewayUrl, name);

describe("live logs end to end", () => {
  it("a job's stdout and stderr lines come out of GET /v1/jobs/{id}/events as log events, before the final state", async () => {
    const created = await bridge.api("POST", "/v1/jobs", { command: ["sh", "-c", "sleep 1; echo 'epoch 1/2'; echo 'careful: lr high' >&2; sleep 1; printf '50%%\\r100%%\\n'; echo 'epoch 2/2'"] });
    const events = await readEvents(created.body!.id);
    const logs = events.filter((e) => e.event === "log");
    expect(logs.map((e) => [e.data.stream, e.data.line])).toEqual(expect.arrayContaining([
      ["stdout", "epoch 1/2"], ["stderr", "careful: lr high"], ["stdout", "100%"], ["stdout", "epoch 2/2"],
    ]));
    expect(logs.map((e) => e.data.line)).not.toContain("50%");
    expect(logs.every((e) => e.data.job_id === created.body!.id && /^att_/.test(e.data.attempt_id))).toBe(true);
    const lastLog = events.lastIndexOf(logs.at(-1)!);
    expect(events.slice(lastLog).some((e) => e.event === "state" && e.data.to === "SUCCEEDED")).toBe(true);
    // Each stream entry's id rides on its last line, so a client resuming from it has seen them all.
    expect(logs.at(-1)!.id).toMatch(/^\d+-\d+$/);
  });

  it("a job printing 1 MB/s for 10 s moves a few KB/s of log frames, its runs of skipped lines summarized", async () => {
    const before = {
      frameBytes: await gatewayMetric("lb_gateway_log_frame_bytes_total"),
      received: await gatewayMetric("lb_gateway_ws_received_bytes_total"),
      lines: await gatewayMetric("lb_gateway_log_lines_total"),
      skipped: await gatewayMetric("lb_gateway_log_lines_skipped_total"),
    };
    // 10,000 lines of 100 bytes (1 MB) a second on stdout (base64 of random bytes: text that
    // compresses like real logs, not like a run of one letter), one line a second on stderr.
    const script = "i=0; while [ $i -lt 10 ]; do head -c 742500 /dev/urandom | base64 -w 99; echo \"second $i\" >&2; sleep 1; i=$((i+1)); done";
    const created = await bridge.api("POST", "/v1/jobs", { command: ["sh", "-c", script] });
    const started = Date.now();
    const events = await readEvents(created.body!.id);
    const seconds = (Date.now() - started) / 1000;
    expect(events.at(-1)).toMatchObject({ event: "state", data: { to: "SUCCEEDED" } });
    const logs = events.filter((e) => e.event === "log");
    const summaries = logs.filter((e) => /^… \d+ lines? skipped$/.test(e.data.line));
    expect(summaries.length).toBeGreaterThan(0);
    const delta = {
      frameBytes: (await gatewayMetric("lb_gateway_log_frame_bytes_total")) - before.frameBytes,
      received: (await gatewayMetric("lb_gateway_ws_received_bytes_total")) - before.received,
      lines: (await gatewayMetric("lb_gateway_log_lines_total")) - before.lines,
      skipped: (await gatewayMetric("lb_gateway_log_lines_skipped_total")) - before.skipped,
    };
    const figures = {
      seconds: +seconds.toFixed(1),
      printed_lines: 100_000 + 10,
      log_frame_bytes_per_s: Math.round(delta.frameBytes / seconds),
      ws_received_bytes_per_s: Math.round(delta.received / seconds),
      lines_delivered: delta.lines - summaries.length,
      summary_lines: summaries.length,
      lines_skipped: delta.skipped,
      sse_log_events: logs.length,
    };
    console.log(`[live logs] ${JSON.stringify(figures)}`);
    expect(figures.log_frame_bytes_per_s).toBeLessThan(8 * 1024);
    expect(delta.lines + delta.skipped - summaries.length).toBe(figures.printed_lines);
    expect(logs.filter((e) => e.data.stream === "stderr").length).toBeGreaterThan(0);
  }, 60_000);
});
