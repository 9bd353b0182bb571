// The fault suite's client: submits jobs the way a careful caller would (an
// Idempotency-Key per job, retried through either API on 503 or a dropped connection
// until accepted), then waits until every accepted job has ended, and reads them back.
import { randomUUID } from "node:crypto";

/** A job as the API returns it (the fields the suite reads). */
export interface JobView {
  id: string;
  state: string;
  max_attempts: number;
  attempts: { id: string; agent_id: string; state: string; started_at: string | null; finished_at: string | null; error: { code: string } | null }[];
  history: { state: string; at: string; cause: string }[];
}

/** One job the suite asked for. */
export interface Submission {
  label: string;
  body: Record<string, unknown>;
  /** Set once an API accepted it. */
  jobId?: string;
  /** How many answers were 503 (refusals) or a failed connection (unreachable) before it was accepted. */
  refusals: number;
  unreachable?: number;
  acceptedAt?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Workload {
  private turn = 0;

  constructor(private readonly apiUrls: string[], private readonly token: string) {}

  private async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const base = this.apiUrls[this.turn++ % this.apiUrls.length]!;
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  /** Submits one job until an API accepts it; any answer other than 201, 503 or a network error fails the suite. */
  async submit(sub: Submission, deadlineMs = 120_000): Promise<void> {
    const key = randomUUID();
    const until = Date.now() + deadlineMs;
    while (Date.now() < until) {
      let status = 0;
      try {
        const res = await this.call("POST", "/v1/jobs", sub.body, { "idempotency-key": key });
        status = res.status;
        if (status === 201 || status === 200) {
          sub.jobId = res.body.id as string;
          sub.acceptedAt = Date.now();
          return;
        }
        if (status !== 503) throw new Error(`Job "${sub.label}" refused with ${status}: ${JSON.stringify(res.body)}`);
      } catch (err) {
        if (status !== 0 && status !== 503) throw err;
      }
      if (status === 503) sub.refusals++;
      else sub.unreachable = (sub.unreachable ?? 0) + 1;
      await sleep(200 + Math.random() * 300);
    }
    throw new Error(`Job "${sub.label}" not accepted within ${deadlineMs} ms`);
  }

  /** Submits all, `perSecond` at most, `concurrency` in flight. */
  async submitAll(subs: Submission[], opts: { perSecond: number; concurrency: number }): Promise<void> {
    let next = 0;
    const t0 = Date.now();
    const worker = async () => {
      while (next < subs.length) {
        const i = next++;
        const due = t0 + (i * 1000) / opts.perSecond;
        if (due > Date.now()) await sleep(due - Date.now());
        await this.submit(subs[i]!);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  }

  /** Ids of jobs the API lists in a state that has not ended yet. */
  async unfinished(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const state of ["PENDING", "ASSIGNED", "RUNNING"]) {
      let cursor: string | null = null;
      do {
        const res = await this.call("GET", `/v1/jobs?state=${state}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        if (res.status !== 200) throw new Error(`Listing ${state} jobs answered ${res.status}`);
        for (const j of res.body.items as { id: string }[]) ids.add(j.id);
        cursor = res.body.next_cursor;
      } while (cursor);
    }
    return ids;
  }

  /** Waits until none of `jobIds` is PENDING, ASSIGNED or RUNNING; returns the ones still unfinished at the deadline. */
  async settle(jobIds: string[], timeoutMs: number): Promise<string[]> {
    const until = Date.now() + timeoutMs;
    let open = jobIds;
    while (Date.now() < until) {
      try {
        const unfinished = await this.unfinished();
        open = jobIds.filter((id) => unfinished.has(id));
        if (open.length === 0) return [];
      } catch {
        // an API that is down for the fault: ask again
      }
      await sleep(500);
    }
    return open;
  }

  /** Reads every job back (null for one the API does not know). */
  async read(jobIds: string[]): Promise<Map<string, JobView | null>> {
    const out = new Map<string, JobView | null>();
    let next = 0;
    const worker = async () => {
      while (next < jobIds.length) {
        const id = jobIds[next++]!;
        for (let tryNo = 0; ; tryNo++) {
          try {
            const res = await this.call("GET", `/v1/jobs/${id}`);
            if (res.status === 200 || res.status === 404) {
              out.set(id, res.status === 200 ? (res.body as JobView) : null);
              break;
            }
          } catch (err) {
            if (tryNo > 20) throw err;
          }
          await sleep(250);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return out;
  }
}
