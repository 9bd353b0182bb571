// k6 scenario: N agents with pre-provisioned credentials (`npm run agents:provision`) hold
// sessions on a LabBridge deployment: connect, hello, heartbeat at the announced intervals
// ±10% (`idle_heartbeat_seconds` while holding no job, `heartbeat_seconds` while holding
// one; the busy one throughout where welcome has no idle one, as the agent does), take
// every job they are assigned and finish it at once (succeeded, no outputs).
// Many sockets per VU (k6/websockets is event driven): one VU per socket costs megabytes.
//
//   k6 run -e GATEWAY=wss://bridge.example.org -e CREDS=creds.json -e AGENTS=10000 \
//          -e PER_VU=500 -e HOLD=10m loadtest/k6/agents.ts
//
// Metrics: lb_time_to_welcome (connect → welcome), lb_connect_errors (sockets that closed
// before their welcome), lb_retry_hints (1013 from a gateway shedding load),
// lb_heartbeat_rtt (heartbeat → heartbeat.ack), lb_jobs_finished. The thresholds below
// fail the run (loadtest/README.md says what each means).
import { SharedArray } from "k6/data";
import exec from "k6/execution";
import { Counter, Trend } from "k6/metrics";
import { clearTimeout, setTimeout } from "k6/timers";
import { WebSocket } from "k6/websockets";
import type { AgentMessage, ServerMessage } from "../../packages/protocol/src/ws_messages.ts";
import { CLOSE_CODES, EMPTY_OUTPUTS_DIGEST, PROTOCOL_VERSION, retryAfterOf } from "./protocol_constants.ts";

interface Cred {
  agent_id: string;
  name: string;
  credential: string;
}

const GATEWAYS = (__ENV.GATEWAY ?? "ws://127.0.0.1:8081").split(",");
const AGENTS = Number(__ENV.AGENTS ?? 1000);
const PER_VU = Number(__ENV.PER_VU ?? 500);
const HOLD = __ENV.HOLD ?? "2m";

const creds = new SharedArray("creds", () => (JSON.parse(open(__ENV.CREDS ?? "creds.json")) as Cred[]).slice(0, AGENTS));

const timeToWelcome = new Trend("lb_time_to_welcome", true);
const heartbeatRtt = new Trend("lb_heartbeat_rtt", true);
const connectErrors = new Counter("lb_connect_errors");
const retryHints = new Counter("lb_retry_hints");
const jobsFinished = new Counter("lb_jobs_finished");

export const options = {
  scenarios: {
    agents: {
      executor: "per-vu-iterations",
      vus: Math.ceil(AGENTS / PER_VU),
      iterations: 1,
      maxDuration: "24h",
    },
  },
  thresholds: {
    // Every agent welcomed within 5 s of connecting at the 99th percentile: the gateway admits the fleet.
    lb_time_to_welcome: ["p(99)<5000"],
    // The path back works under load: 99% of heartbeats answered within half a second.
    lb_heartbeat_rtt: ["p(99)<500"],
    // Fewer than 1% of the agents' connects failed outright (1013 retry hints are not failures).
    lb_connect_errors: [`count<${Math.max(1, Math.ceil(AGENTS / 100))}`],
  },
};

/** Milliseconds of a duration like "90s", "10m", "1h". */
function ms(duration: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration);
  if (!m) throw new Error(`Invalid HOLD "${duration}": expected a number with ms, s, m or h`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
}

/** The heartbeat interval in ms while holding a job or none (agent/src/session/heartbeat_loop.ts; decision 0028). */
function heartbeatMs(w: { heartbeat_seconds: number; idle_heartbeat_seconds?: number }, holding: boolean): number {
  const busy = w.heartbeat_seconds * 1000;
  const idle = (w.idle_heartbeat_seconds ?? 0) * 1000;
  return holding || !(idle > busy) ? busy : idle;
}

const jittered = (ms: number) => ms * (0.9 + Math.random() * 0.2);

function agent(cred: Cred, index: number, until: number): void {
  let url = index % GATEWAYS.length;
  const connect = () => {
    if (Date.now() >= until) return;
    const started = Date.now();
    let welcomed = false;
    let beat: number | null = null;
    let dueAt = 0;
    let sentAt = 0;
    const held = new Set<string>();
    let busy = () => {};
    const ws = new WebSocket(`${GATEWAYS[url]}/v1/agent`, null, { headers: { Authorization: `Bearer ${cred.credential}` } });
    const send = (m: AgentMessage) => ws.send(JSON.stringify(m));
    ws.onopen = () => send({ type: "hello", protocol: PROTOCOL_VERSION, agent_version: "k6", os: "linux", hostname: cred.name, gpus: [], running: [], restarted: false });
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e?.data)) as ServerMessage;
      switch (m.type) {
        case "welcome": {
          welcomed = true;
          timeToWelcome.add(Date.now() - started);
          const welcome = m;
          const schedule = (ms: number) => {
            if (beat !== null) clearTimeout(beat);
            dueAt = Date.now() + ms;
            beat = setTimeout(() => {
              sentAt = Date.now();
              send({ type: "heartbeat", running: [...held] });
              schedule(jittered(heartbeatMs(welcome, held.size > 0)));
            }, ms);
          };
          // Each beat jittered ±10%: a fleet does not beat in step.
          schedule(jittered(heartbeatMs(welcome, false)));
          // Taking a job pulls a pending idle beat in to within one busy interval, as the agent does.
          busy = () => {
            const soon = jittered(heartbeatMs(welcome, true));
            if (beat !== null && dueAt - Date.now() > soon) schedule(soon);
          };
          setTimeout(() => ws.close(CLOSE_CODES.normal), Math.max(0, until - Date.now()));
          return;
        }
        case "heartbeat.ack":
          if (sentAt) heartbeatRtt.add(Date.now() - sentAt);
          sentAt = 0;
          return;
        case "attempt.assign":
          held.add(m.attempt_id);
          busy();
          return send({ type: "attempt.start_request", attempt_id: m.attempt_id });
        case "attempt.start_granted":
          return send({ type: "attempt.finished", attempt_id: m.attempt_id, outcome: "succeeded", exit_code: 0, error: null, outputs: [], output_count: 0, outputs_digest: EMPTY_OUTPUTS_DIGEST });
        case "attempt.abort":
          held.delete(m.attempt_id); // never started, or its lease is gone: nothing to report
          return;
        case "attempt.report_ack":
          held.delete(m.attempt_id);
          if (m.accepted) jobsFinished.add(1);
          return;
        default:
          return;
      }
    };
    ws.addEventListener("close", (e) => {
      if (beat !== null) clearTimeout(beat);
      beat = null;
      // k6's close event carries the code and reason at run time; its types do not name them.
      const close = e as unknown as { code?: number; reason?: string };
      const hint = close.code === CLOSE_CODES.try_again_later ? retryAfterOf(close.reason ?? "") : null;
      if (hint !== null) retryHints.add(1);
      else if (!welcomed) connectErrors.add(1);
      if (Date.now() >= until) return;
      url = (url + 1) % GATEWAYS.length;
      // As the agent does: honour a hint; otherwise come back within half a second (full jitter).
      setTimeout(connect, hint ?? Math.random() * 500);
    });
  };
  connect();
}

export default function (): void {
  const vu = exec.vu.idInTest - 1;
  const until = Date.now() + ms(HOLD);
  for (let i = vu * PER_VU; i < Math.min(creds.length, (vu + 1) * PER_VU); i++) agent(creds[i] as Cred, i, until);
}
