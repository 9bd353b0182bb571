// The comparison: BullMQ on the same Redis (its own key prefix), a Queue and a Worker in
// this process, measured from the moment before `queue.add` to the moment the worker's
// processor starts (enqueue → worker start), paced at the same offered rates as
// LabBridge, and unpaced with the same number of concurrent clients for throughput.
import { Queue, Worker, type ConnectionOptions } from "bullmq";
import { paced, unpaced } from "./pacer.ts";
import { matchLatencies, percentile, round } from "./stats.ts";

/** One paced BullMQ run. */
export interface BullPacedRun {
  rate: number;
  seconds: number;
  jobs: number;
  p50_ms: number;
  p99_ms: number;
  not_started: number;
}

/** One unpaced BullMQ run. */
export interface BullUnpacedRun {
  jobs: number;
  clients: number;
  jobs_per_s: number;
}

/** A queue and a worker that notes when each job started. */
export class BullBench {
  readonly startedAt = new Map<string, number>();
  private constructor(private readonly queue: Queue, private readonly worker: Worker) {}

  /** Opens a queue and a worker (`concurrency` jobs at once) under `prefix` on the Redis at `redisUrl`. */
  static async open(redisUrl: string, prefix: string, concurrency: number): Promise<BullBench> {
    const url = new URL(redisUrl);
    const connection: ConnectionOptions = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
    const queue = new Queue("bench", { connection, prefix });
    let bench: BullBench | null = null;
    const worker = new Worker(
      "bench",
      async (job) => {
        // First thing in the processor: this is "the worker started the job".
        bench!.startedAt.set(job.id!, performance.now());
      },
      { connection, prefix, concurrency, removeOnComplete: { count: 0 }, autorun: false },
    );
    bench = new BullBench(queue, worker);
    void worker.run();
    await worker.waitUntilReady();
    await queue.waitUntilReady();
    return bench;
  }

  private async add(i: number, starts: Map<string, number>): Promise<void> {
    const t0 = performance.now();
    const job = await this.queue.add("job", { i }, { removeOnComplete: true });
    starts.set(job.id!, t0);
  }

  private async drain(ids: Iterable<string>, timeoutMs: number): Promise<void> {
    const list = [...ids];
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && list.some((id) => !this.startedAt.has(id))) await new Promise((r) => setTimeout(r, 20));
  }

  /** `rate` enqueues per second for `seconds`; latencies from before `add` to processor start. */
  async pacedRun(rate: number, seconds: number, drainMs: number): Promise<BullPacedRun> {
    const starts = new Map<string, number>();
    await Promise.all(await paced(rate, seconds, (i) => this.add(i, starts)));
    await this.drain(starts.keys(), drainMs);
    const m = matchLatencies(starts, this.startedAt);
    return { rate, seconds, jobs: starts.size, p50_ms: round(percentile(m.latencies, 50)), p99_ms: round(percentile(m.latencies, 99)), not_started: m.missing };
  }

  /** `jobs` enqueues from `clients` concurrent clients; jobs/s from the first add to the last start. */
  async unpacedRun(jobs: number, clients: number, drainMs: number): Promise<BullUnpacedRun> {
    const starts = new Map<string, number>();
    const t0 = performance.now();
    await unpaced(jobs, clients, (i) => this.add(i, starts));
    await this.drain(starts.keys(), drainMs);
    const ends = [...starts.keys()].map((id) => this.startedAt.get(id)).filter((t): t is number => t !== undefined);
    return { jobs, clients, jobs_per_s: round((ends.length * 1000) / (Math.max(...ends) - t0)) };
  }

  /** Closes the worker and the queue (the caller removes the keys with the prefix). */
  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }
}
