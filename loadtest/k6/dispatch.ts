// k6 scenario: jobs submitted over HTTP at a set rate to agents held by agents.ts (run
// both at once, against the same deployment), each followed to SUCCEEDED.
//
//   k6 run -e API=https://bridge.example.org -e TOKEN=lbu_… -e RATE=50 -e DURATION=2m \
//          loadtest/k6/dispatch.ts
//
// Metrics: lb_submit (POST /v1/jobs answered), lb_submit_to_succeeded (POST → the job
// read back as SUCCEEDED, polled every POLL_MS), lb_jobs_not_succeeded. Thresholds fail the run.
import http from "k6/http";
import { sleep } from "k6";
import { Counter, Trend } from "k6/metrics";

const API = __ENV.API ?? "http://127.0.0.1:8080";
const TOKEN = __ENV.TOKEN ?? "";
const RATE = Number(__ENV.RATE ?? 20);
const DURATION = __ENV.DURATION ?? "1m";
const POLL_MS = Number(__ENV.POLL_MS ?? 100);
const DEADLINE_MS = Number(__ENV.DEADLINE_MS ?? 60_000);

const submit = new Trend("lb_submit", true);
const toSucceeded = new Trend("lb_submit_to_succeeded", true);
const notSucceeded = new Counter("lb_jobs_not_succeeded");

export const options = {
  scenarios: {
    dispatch: {
      executor: "constant-arrival-rate",
      rate: RATE,
      timeUnit: "1s",
      duration: DURATION,
      preAllocatedVUs: Math.max(10, RATE * 2),
      maxVUs: Math.max(50, RATE * 20),
    },
  },
  thresholds: {
    // The API answers a submission within 200 ms at the 99th percentile.
    lb_submit: ["p(99)<200"],
    // An instant job is SUCCEEDED within 2 s of its submission at the 99th percentile.
    lb_submit_to_succeeded: ["p(99)<2000"],
    // No job is lost.
    lb_jobs_not_succeeded: ["count<1"],
    http_req_failed: ["rate<0.01"],
  },
};

const headers = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };

export default function (): void {
  const started = Date.now();
  const res = http.post(`${API}/v1/jobs`, JSON.stringify({ name: "k6", command: ["python", "train.py"], requirements: { os: "linux" } }), { headers });
  submit.add(res.timings.duration);
  if (res.status !== 201) {
    notSucceeded.add(1);
    return;
  }
  const id = (res.json() as { id: string }).id;
  while (Date.now() - started < DEADLINE_MS) {
    sleep(POLL_MS / 1000);
    const job = http.get(`${API}/v1/jobs/${id}`, { headers, tags: { name: "GET /v1/jobs/{id}" } });
    const state = job.status === 200 ? (job.json() as { state: string }).state : "";
    if (state === "SUCCEEDED") return void toSucceeded.add(Date.now() - started);
    if (state === "FAILED" || state === "CANCELED") break;
  }
  notSucceeded.add(1);
}
