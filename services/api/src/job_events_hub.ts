// Fans the `<prefix>:job-events` stream out to the API's live watchers (SSE). One reader
// per API process, started with the first watcher; entries carry no file bytes and no
// secrets, only state changes and short progress lines.
import { decodeEntry, type StreamEntry } from "@labbridge/protocol";
import type { Redis } from "@labbridge/streams";
import type { ServiceContext } from "@labbridge/runtime";

type Listener = (entry: StreamEntry, id: string) => void;

/** Subscriptions to one job's events. */
export class JobEventsHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly controller = new AbortController();
  private loop: Promise<void> | null = null;
  private redis: Redis | null = null;
  /** Resolves once the reader knows where it starts; every entry after that point is delivered. */
  private ready: Promise<void> | null = null;

  constructor(private readonly ctx: ServiceContext) {}

  /**
   * Calls `fn` for every event of `jobId` written after this resolves; resolves with the
   * unsubscribe function. A caller that reads a snapshot after it resolves misses nothing.
   */
  async subscribe(jobId: string, fn: Listener): Promise<() => void> {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(fn);
    if (!this.ready) {
      // The first watcher starts the reader and waits until its starting point is fixed:
      // without that wait, entries written while it looked for the newest one were skipped.
      let started!: (last: string) => void;
      const start = new Promise<string>((r) => (started = r));
      this.ready = start.then(() => undefined);
      this.loop = this.run(started);
    }
    await this.ready;
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }

  private async run(started: (last: string) => void): Promise<void> {
    const { signal } = this.controller;
    const stream = this.ctx.streams.jobEvents;
    const redis = (this.redis = this.ctx.blockingRedis("job-events"));
    // Start after the newest entry; "$" would skip entries written between two reads.
    const newest = (await redis.xrevrange(stream, "+", "-", "COUNT", 1).catch(() => []))[0];
    let last = newest?.[0] ?? "0-0";
    started(last);
    while (!signal.aborted) {
      try {
        const res = (await redis.xread("COUNT", 200, "BLOCK", 2000, "STREAMS", stream, last)) as [string, [string, string[]][]][] | null;
        for (const [id, fields] of res?.[0]?.[1] ?? []) {
          last = id;
          const entry = decodeEntry(fields);
          if (!entry.job_id) continue;
          for (const fn of this.listeners.get(entry.job_id) ?? []) fn(entry, id);
        }
      } catch (err) {
        if (signal.aborted) break;
        this.ctx.log.warn({ err: (err as Error).message }, "job events read failed, retrying");
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Stops the reader. */
  async close(): Promise<void> {
    this.controller.abort();
    this.redis?.disconnect();
    await this.loop?.catch(() => undefined);
  }
}
