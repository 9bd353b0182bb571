// LabBridge's own figures: jobs submitted through the HTTP API (POST /v1/jobs) and
// measured until the fake agent holds the `attempt.assign` (dispatch latency) and until
// the job's event stream says SUCCEEDED; paced at an offered rate, or unpaced with a
// fixed number of concurrent clients for throughput.
import type { BenchBridge } from "./bench_bridge.ts";
import { paced, unpaced } from "./pacer.ts";
import { matchLatencies, percentile, round } from "./stats.ts";

/** One paced run at one offered rate. */
export interface PacedRun {
  rate: number;
  seconds: number;
  submitted: number;
  submit_errors: number;
  dispatch_p50_ms: number;
  dispatch_p99_ms: number;
  /** Jobs whose assignment never reached an agent before the drain timeout. */
  not_assigned: number;
  submit_to_succeeded_p50_ms: number;
  submit_to_succeeded_p99_ms: number;
  /**
   * Submit → the time the SUCCEEDED transition carries (wall clock, ms resolution): when the
   * gateway took the agent's report. What comes after (the scheduler recording the result,
   * the job-events stream, SSE) is the rest of submit → SUCCEEDED.
   */
  finish_reported_p50_ms: number;
  finish_reported_p99_ms: number;
  /** How many jobs were followed to SUCCEEDED (every `succeededEvery`-th), and how many never got there in time. */
  succeeded_sampled: number;
  not_succeeded: number;
  post_p50_ms: number;
  post_p99_ms: number;
}

/** One unpaced run: `jobs` submitted by `clients` concurrent clients as fast as they go. */
export interface UnpacedRun {
  jobs: number;
  clients: number;
  submit_errors: number;
  /** Jobs per second from the first POST to the last `attempt.assign`. */
  jobs_per_s: number;
  /** POST /v1/jobs answered per second (201s only), first POST to last answer. */
  api_submit_per_s: number;
  not_assigned: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** POSTs one instant job; resolves with its id and when the POST was about to go out. */
async function submit(b: BenchBridge, i: number): Promise<{ jobId: string; t0: number; wallT0: number; postMs: number }> {
  const body = JSON.stringify({ name: `bench-${i}`, command: ["true"] });
  const wallT0 = Date.now(); // for the server's timestamps, which are wall-clock
  const t0 = performance.now();
  const res = await fetch(`${b.bridge.apiUrl}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${b.env.env.LB_ADMIN_TOKEN}`, "content-type": "application/json" },
    body,
  });
  const text = await res.text();
  const postMs = performance.now() - t0;
  if (res.status !== 201) throw new Error(`POST /v1/jobs answered ${res.status}: ${text.slice(0, 200)}`);
  return { jobId: (JSON.parse(text) as { id: string }).id, t0, wallT0, postMs };
}

/** When a job's SUCCEEDED was read off its SSE stream (performance.now()), and the time the transition carries (epoch ms). */
export interface SucceededSeen {
  readAt: number;
  reportedAt: number;
}

/** Follows a job's SSE stream until it says SUCCEEDED; resolves with when, or null if it never did in time. */
export async function watchSucceeded(b: BenchBridge, jobId: string, timeoutMs: number): Promise<SucceededSeen | null> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const res = await fetch(`${b.bridge.apiUrl}/v1/jobs/${jobId}/events`, { headers: { authorization: `Bearer ${b.env.env.LB_ADMIN_TOKEN}` }, signal: ctl.signal });
    if (!res.ok || !res.body) return null;
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").find((l) => l.startsWith("data: "));
        if (!data) continue;
        // A `state` event carries the transition's time (`at`); a snapshot already SUCCEEDED, its `updated_at`.
        const m = JSON.parse(data.slice(6)) as { state?: string; to?: string; at?: string; updated_at?: string };
        if (m.to === "SUCCEEDED" || m.state === "SUCCEEDED") return { readAt: performance.now(), reportedAt: Date.parse(m.at ?? m.updated_at ?? "") };
      }
    }
    return null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
}

/** Waits until every job id has reached an agent, or `timeoutMs` passes. */
async function drainAssigned(b: BenchBridge, jobIds: string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && jobIds.some((id) => !b.assignedAt.has(id))) await sleep(20);
}

/** States a job holds until it is over. */
const UNFINISHED = ["PENDING", "ASSIGNED", "RUNNING"] as const;

/**
 * Waits until the API lists no unfinished job, or `timeoutMs` passes: a run's results are
 * still being recorded after its last assignment, and the next run must not queue behind them.
 */
export async function settle(b: BenchBridge, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    let busy = false;
    for (const state of UNFINISHED) {
      const res = await b.bridge.api("GET", `/v1/jobs?state=${state}&limit=1`);
      if (res.status !== 200) throw new Error(`GET /v1/jobs?state=${state} answered ${res.status}`);
      if ((res.body!.items as unknown[]).length > 0) busy = true;
    }
    if (!busy) return true;
    await sleep(100);
  }
  return false;
}

/** One paced run: `rate` jobs/s for `seconds`, following every `succeededEvery`-th job to SUCCEEDED. */
export async function pacedDispatchRun(b: BenchBridge, rate: number, seconds: number, opts: { succeededEvery: number; drainMs: number }): Promise<PacedRun> {
  const starts = new Map<string, number>();
  const succeededStarts = new Map<string, number>();
  const succeededAt = new Map<string, number>();
  const wallStarts = new Map<string, number>();
  const reportedAt = new Map<string, number>();
  const watches: Promise<void>[] = [];
  const postMs: number[] = [];
  let errors = 0;
  const sends = await paced(rate, seconds, async (i) => {
    try {
      const s = await submit(b, i);
      starts.set(s.jobId, s.t0);
      postMs.push(s.postMs);
      if (i % opts.succeededEvery === 0) {
        succeededStarts.set(s.jobId, s.t0);
        wallStarts.set(s.jobId, s.wallT0);
        watches.push(watchSucceeded(b, s.jobId, opts.drainMs).then((seen) => {
          if (!seen) return;
          succeededAt.set(s.jobId, seen.readAt);
          if (Number.isFinite(seen.reportedAt)) reportedAt.set(s.jobId, seen.reportedAt);
        }));
      }
    } catch {
      errors++;
    }
  });
  await Promise.all(sends);
  await drainAssigned(b, [...starts.keys()], opts.drainMs);
  await Promise.all(watches);
  const dispatch = matchLatencies(starts, b.assignedAt);
  const done = matchLatencies(succeededStarts, succeededAt);
  const reported = matchLatencies(wallStarts, reportedAt);
  return {
    rate,
    seconds,
    submitted: starts.size,
    submit_errors: errors,
    dispatch_p50_ms: round(percentile(dispatch.latencies, 50)),
    dispatch_p99_ms: round(percentile(dispatch.latencies, 99)),
    not_assigned: dispatch.missing,
    submit_to_succeeded_p50_ms: round(percentile(done.latencies, 50)),
    submit_to_succeeded_p99_ms: round(percentile(done.latencies, 99)),
    finish_reported_p50_ms: round(percentile(reported.latencies, 50)),
    finish_reported_p99_ms: round(percentile(reported.latencies, 99)),
    succeeded_sampled: succeededStarts.size,
    not_succeeded: done.missing,
    post_p50_ms: round(percentile(postMs, 50)),
    post_p99_ms: round(percentile(postMs, 99)),
  };
}

/** One unpaced run: `jobs` jobs from `clients` concurrent clients, each POSTing again as soon as answered. */
export async function unpacedDispatchRun(b: BenchBridge, jobs: number, clients: number, drainMs: number): Promise<UnpacedRun> {
  const ids: string[] = [];
  let errors = 0;
  let lastAnswer = 0;
  const t0 = performance.now();
  await unpaced(jobs, clients, async (i) => {
    try {
      ids.push((await submit(b, i)).jobId);
      lastAnswer = performance.now();
    } catch {
      errors++;
    }
  });
  await drainAssigned(b, ids, drainMs);
  const assigned = ids.map((id) => b.assignedAt.get(id)).filter((t): t is number => t !== undefined);
  const lastAssign = Math.max(...assigned);
  return {
    jobs,
    clients,
    submit_errors: errors,
    jobs_per_s: round((assigned.length * 1000) / (lastAssign - t0)),
    api_submit_per_s: round((ids.length * 1000) / (lastAnswer - t0)),
    not_assigned: ids.length - assigned.length,
  };
}
