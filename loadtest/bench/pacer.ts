// Open-loop pacing: requests go out on a fixed schedule whether or not earlier ones have
// been answered, so a slow server shows up as latency instead of silently lowering the
// offered rate (the "coordinated omission" a closed loop would commit).

/** How many sends are due `elapsedMs` into a run offering `ratePerS` for `total` sends. */
export function dueCount(elapsedMs: number, ratePerS: number, total: number): number {
  if (elapsedMs < 0) return 0;
  return Math.min(total, Math.floor((elapsedMs * ratePerS) / 1000) + 1);
}

/**
 * Calls `send(i)` for i = 0 … ratePerS*seconds-1, the i-th at i/ratePerS seconds after the
 * start, without awaiting it; resolves when every send has been started, with the sends' promises.
 */
export async function paced<T>(ratePerS: number, seconds: number, send: (i: number) => Promise<T>, now: () => number = () => performance.now()): Promise<Promise<T>[]> {
  const total = Math.max(1, Math.round(ratePerS * seconds));
  const started: Promise<T>[] = [];
  const t0 = now();
  while (started.length < total) {
    const due = dueCount(now() - t0, ratePerS, total);
    while (started.length < due) started.push(send(started.length));
    if (started.length < total) await new Promise((r) => setTimeout(r, 1));
  }
  return started;
}

/** Runs `total` calls of `work(i)` with at most `concurrency` in flight (a closed loop, for throughput). */
export async function unpaced(total: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}
