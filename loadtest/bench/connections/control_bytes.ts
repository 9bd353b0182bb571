// Control bytes per job: what one job costs on the agent's socket, frames both ways from
// the assignment to the report's ack (assign, start request and grant, one progress line,
// finished, its ack), heartbeats left out. Nothing here depends on a file's size: inputs
// and outputs move over presigned URLs (each input or output adds its URL, a few hundred
// bytes, never its bytes). One agent with its own label takes every job, one at a time.
import WebSocket from "ws";
import { outputsDigest, PROTOCOL_VERSION, type ServerMessage } from "@labbridge/protocol";
import { provisionAgents, type Pool } from "@labbridge/store";
import type { Bridge } from "@labbridge/devstack";
import { round } from "../stats.ts";
import { FRAMING } from "./figures.ts";
import { HeartbeatTimer } from "../heartbeat_timer.ts";

/** Bytes of one job's control frames: payload, and with framing (each frame its own TLS record and TCP segment, plus the ACKs). */
export interface ControlBytes {
  jobs: number;
  frames_per_job: number;
  payload_bytes_per_job: number;
  wire_bytes_per_job: number;
  /** Payload bytes per frame type, per job. */
  by_type: Record<string, number>;
}

/** Runs `jobs` jobs through the API to one dedicated agent and counts their frames. */
export async function controlBytesPerJob(bridge: Bridge, pool: Pool, jobs: number): Promise<ControlBytes> {
  const [agent] = await provisionAgents(pool, { count: 1, namePrefix: "control", os: "linux", labels: { bench: "control" }, slots: 1, now: new Date() });
  const ws = new WebSocket(`${bridge.gatewayUrl}/v1/agent`, { headers: { authorization: `Bearer ${agent!.credential}` }, perMessageDeflate: false });
  const byType: Record<string, number> = {};
  let framesIn = 0;
  let framesOut = 0;
  let counting = false;
  const count = (type: string, bytes: number) => {
    if (!counting || type === "heartbeat" || type === "heartbeat.ack") return false;
    byType[type] = (byType[type] ?? 0) + bytes;
    return true;
  };
  const send = (m: Record<string, unknown>) => {
    const text = JSON.stringify(m);
    if (count(String(m.type), Buffer.byteLength(text))) framesOut++;
    ws.send(text);
  };
  const digest = await outputsDigest([]);
  let acked: (() => void) | null = null;
  let welcomed: (() => void) | null = null;
  const welcome = new Promise<void>((r) => (welcomed = r));
  // Heartbeats go on as an agent's would (idle interval between jobs, busy while one is held), though they are not counted.
  const held = new Set<string>();
  let beat = null as HeartbeatTimer | null; // set by the welcome handler
  ws.on("message", (data: Buffer) => {
    const m = JSON.parse(data.toString()) as ServerMessage;
    if (count(m.type, data.length)) framesIn++;
    switch (m.type) {
      case "welcome":
        beat = new HeartbeatTimer(m, () => held.size > 0, () => send({ type: "heartbeat", running: [...held] }));
        beat.start();
        return welcomed!();
      case "attempt.assign":
        held.add(m.attempt_id);
        beat?.busy();
        return send({ type: "attempt.start_request", attempt_id: m.attempt_id });
      case "attempt.start_granted":
        send({ type: "attempt.progress", attempt_id: m.attempt_id, message: "epoch 1/1 loss=0.4213" });
        return send({ type: "attempt.finished", attempt_id: m.attempt_id, outcome: "succeeded", exit_code: 0, error: null, outputs: [], output_count: 0, outputs_digest: digest });
      case "attempt.report_ack":
        held.delete(m.attempt_id);
        return acked?.();
      default:
        return;
    }
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  ws.send(JSON.stringify({ type: "hello", protocol: PROTOCOL_VERSION, agent_version: "bench-control", os: "linux", hostname: "control-1", gpus: [], running: [], restarted: true }));
  await welcome;
  try {
    for (let i = 0; i < jobs + 1; i++) {
      counting = i > 0; // the first job warms up (and waits for the agent to be ONLINE in MySQL)
      const done = new Promise<void>((r) => (acked = r));
      const res = await bridge.api("POST", "/v1/jobs", {
        name: `control-${i}`, command: ["python", "train.py", "--epochs", "3"], env: { WANDB_MODE: "offline" },
        requirements: { os: "linux", labels: { bench: "control" } }, timeout_seconds: 3600,
      });
      if (res.status !== 201) throw new Error(`job not submitted: ${res.status} ${JSON.stringify(res.body)}`);
      await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error("control job not finished within 60 s")), 60_000))]);
    }
  } finally {
    beat?.stop();
    ws.close(1000);
  }
  const payload = Object.values(byType).reduce((a, b) => a + b, 0);
  const framing = framesIn * (FRAMING.wsServer + FRAMING.tls + FRAMING.tcpIp) + framesOut * (FRAMING.wsClient + FRAMING.tls + FRAMING.tcpIp) + (framesIn + framesOut) * FRAMING.tcpIp / 2;
  return {
    jobs,
    frames_per_job: round((framesIn + framesOut) / jobs),
    payload_bytes_per_job: round(payload / jobs),
    wire_bytes_per_job: round((payload + framing) / jobs),
    by_type: Object.fromEntries(Object.entries(byType).map(([k, v]) => [k, round(v / jobs)])),
  };
}
