// Time is injected everywhere a lease or a timer is decided, so tests shrink it instead of
// sleeping through it.

/** Milliseconds since the epoch, like Date.now. */
export type Clock = () => number;

/** The wall clock. */
export const systemClock: Clock = () => Date.now();

/** `base` scaled by a random factor in [1 - spread, 1 + spread], so many timers do not beat in step. */
export function jitter(baseMs: number, spread = 0.2): number {
  return baseMs * (1 - spread + Math.random() * 2 * spread);
}

/** Resolves after `ms`, or early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
