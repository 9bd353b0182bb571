// The consumer-group loop every stream reader runs (DESIGN.md "Streams"): read new
// entries, reclaim entries a dead consumer left pending (XAUTOCLAIM), hand each to an
// idempotent handler, and ack only after the handler's MySQL write succeeded.
import type { Redis } from "ioredis";
import { decodeEntry, type StreamEntry } from "@labbridge/protocol";
import type { Logger } from "@labbridge/logging";
import { isRedisUnavailableError } from "./redis_errors.ts";

/** Settings of one consumer loop. */
export interface ConsumeOptions {
  redis: Redis;
  stream: string;
  group: string;
  consumer: string;
  handler: (entry: StreamEntry, id: string) => Promise<void>;
  log: Logger;
  signal: AbortSignal;
  /** How long XREADGROUP blocks; also how quickly the loop notices the abort signal. */
  blockMs?: number;
  batch?: number;
  /** Entries pending longer than this on any consumer are taken over. */
  claimIdleMs?: number;
  /** An entry delivered this many times without success is logged and dropped (MySQL still has the truth). */
  maxDeliveries?: number;
  /**
   * Failures this says are transient (MySQL or Redis away, a lock conflict) never count
   * towards maxDeliveries: an outage must not turn a finished attempt's report into
   * poison. The loop pauses and retries its pending entries, in order, instead.
   */
  isTransient?: (err: unknown) => boolean;
  /** Where to start a new group: "0" reads history, "$" only new entries. */
  startId?: string;
  /**
   * Entries handled together: each run of consecutive entries that `accepts` takes goes
   * to `handle` in one call and is acked with one XACK (a fleet's hellos cost a few
   * round trips, not a few per agent). A run that fails for a reason that is not
   * transient is handed to `handler` entry by entry, so a poisoned entry is found and
   * dropped alone. `handle` must be idempotent over the run, as `handler` is per entry.
   */
  together?: { accepts: (entry: StreamEntry) => boolean; handle: (entries: StreamEntry[]) => Promise<void> };
}

/** Creates the group if it does not exist (idempotent). */
export async function ensureGroup(redis: Redis, stream: string, group: string, startId = "0"): Promise<void> {
  try {
    await redis.xgroup("CREATE", stream, group, startId, "MKSTREAM");
  } catch (err) {
    if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
  }
}

type Entries = [string, string[]][];

/** Runs until the signal aborts; resolves when the loop has stopped after finishing what it holds. */
export async function consumeGroup(opts: ConsumeOptions): Promise<void> {
  const { redis, stream, group, consumer, log, signal } = opts;
  const blockMs = opts.blockMs ?? 1000;
  const batch = opts.batch ?? 50;
  // Long enough that a live consumer finishes a slow entry first (a second taker is harmless:
  // handlers are idempotent), short enough that a killed scheduler's entries wait 15 s at most.
  const claimIdleMs = opts.claimIdleMs ?? 15_000;
  const maxDeliveries = opts.maxDeliveries ?? 10;
  const isTransient = opts.isTransient ?? isRedisUnavailableError;
  let lastClaim = 0;

  const handleOne = async (id: string, entry: StreamEntry): Promise<boolean> => {
    try {
      await opts.handler(entry, id);
      await redis.xack(stream, group, id);
    } catch (err) {
      // Left pending: another pass (or another consumer, via XAUTOCLAIM) retries it.
      log.warn({ stream, entry_id: id, type: entry.type, err: (err as Error).message }, "stream handler failed, will retry");
      if (isTransient(err)) return false;
      await dropIfPoisoned(id, entry);
    }
    return true;
  };

  const handleRun = async (run: [string, StreamEntry][]): Promise<boolean> => {
    if (run.length === 0) return true;
    try {
      await opts.together!.handle(run.map(([, e]) => e));
      await redis.xack(stream, group, ...run.map(([id]) => id));
      return true;
    } catch (err) {
      log.warn({ stream, entries: run.length, type: run[0]![1].type, err: (err as Error).message }, "stream batch handler failed, will retry");
      if (isTransient(err)) return false;
      for (const [id, entry] of run) if (!(await handleOne(id, entry))) return false;
      return true;
    }
  };

  /** Handles entries in order; false when one failed transiently and the rest were left for later. */
  const handle = async (entries: Entries): Promise<boolean> => {
    let run: [string, StreamEntry][] = [];
    for (const [id, fields] of entries) {
      if (!fields) continue; // deleted while pending
      let entry: StreamEntry;
      try {
        entry = decodeEntry(fields);
      } catch (err) {
        log.error({ stream, entry_id: id, err: (err as Error).message }, "dropping malformed stream entry");
        await redis.xack(stream, group, id);
        continue;
      }
      if (opts.together?.accepts(entry)) {
        run.push([id, entry]);
        continue;
      }
      if (!(await handleRun(run))) return false;
      run = [];
      if (!(await handleOne(id, entry))) return false;
    }
    return handleRun(run);
  };

  const dropIfPoisoned = async (id: string, entry: StreamEntry) => {
    const info = (await redis.xpending(stream, group, id, id, 1)) as [string, string, number, number][];
    const deliveries = info[0]?.[3] ?? 0;
    if (deliveries >= maxDeliveries) {
      log.error({ stream, entry_id: id, type: entry.type, deliveries }, "dropping stream entry after repeated failures");
      await redis.xack(stream, group, id);
    }
  };

  const pause = () => new Promise((r) => setTimeout(r, 500 + Math.random() * 500));
  // Transient failures end the pass: wait, then start again from our own pending entries.
  const pass = async (): Promise<boolean> => {
    const now = Date.now();
    if (now - lastClaim >= Math.min(claimIdleMs, 5000)) {
      lastClaim = now;
      // Our own pending entries first (a handler failed), then any dead consumer's.
      const own = (await redis.xreadgroup("GROUP", group, consumer, "COUNT", batch, "STREAMS", stream, "0")) as [string, Entries][] | null;
      if (own?.[0]?.[1].length && !(await handle(own[0][1]))) return false;
      const claimed = (await redis.xautoclaim(stream, group, consumer, claimIdleMs, "0-0", "COUNT", batch)) as [string, Entries];
      if (claimed[1].length && !(await handle(claimed[1]))) return false;
    }
    const res = (await redis.xreadgroup(
      "GROUP", group, consumer, "COUNT", batch, "BLOCK", blockMs, "STREAMS", stream, ">",
    )) as [string, Entries][] | null;
    return !res?.[0] || (await handle(res[0][1]));
  };

  await ensureGroup(redis, stream, group, opts.startId);
  while (!signal.aborted) {
    try {
      if (!(await pass())) {
        lastClaim = 0;
        await pause();
      }
    } catch (err) {
      if (signal.aborted) break;
      const message = (err as Error).message;
      if (message.includes("NOGROUP")) {
        await ensureGroup(redis, stream, group, opts.startId).catch(() => undefined);
        continue;
      }
      log.warn({ stream, err: message }, "stream read failed, retrying");
      await pause();
    }
  }
}
