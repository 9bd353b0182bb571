// Cancellable waiting. Every wait in the agent takes an AbortSignal so shutdown, a
// cancel or a lost lease can interrupt it without leaving timers behind (Deno's test
// sanitizer would flag a leaked timer, and a service must stop promptly).

/** setTimeout fires at once for delays above 2^31-1 ms (~24.8 days); a job may run 30 days. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Waits `ms` (any length), or less when `signal` aborts; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  const deadline = Date.now() + Math.max(0, ms);
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout>;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const arm = () => {
      const left = deadline - Date.now();
      timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(done, Math.max(0, left));
    };
    arm();
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * A promise that resolves when `signal` aborts, for Promise.race; call dispose() after the
 * race so long-lived signals do not collect one listener per wait.
 */
export function onAbort(signal: AbortSignal): { promise: Promise<void>; dispose: () => void } {
  if (signal.aborted) return { promise: Promise.resolve(), dispose: () => {} };
  let listener = () => {};
  const promise = new Promise<void>((resolve) => {
    listener = () => resolve();
    signal.addEventListener("abort", listener, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener("abort", listener) };
}

/**
 * Waits for the first of `promises`, or for `ms` (-> "timeout") or `signal` (-> "aborted"),
 * cleaning up the timer and the abort listener either way.
 */
export async function raceWith<T>(promises: Promise<T>[], signal: AbortSignal, ms = Infinity): Promise<T | "timeout" | "aborted"> {
  const abort = onAbort(signal);
  const stopTimer = new AbortController();
  const racers: Promise<T | "timeout" | "aborted">[] = [...promises, abort.promise.then(() => "aborted" as const)];
  if (Number.isFinite(ms)) racers.push(sleep(ms, stopTimer.signal).then(() => "timeout" as const));
  try {
    return await Promise.race(racers);
  } finally {
    abort.dispose();
    stopTimer.abort();
  }
}

/** A promise with its resolve function outside, for one-shot events. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; settled: () => boolean } {
  let resolve!: (v: T) => void;
  let done = false;
  const promise = new Promise<T>((r) => {
    resolve = (v) => {
      if (done) return;
      done = true;
      r(v);
    };
  });
  return { promise, resolve, settled: () => done };
}

/** Races `promise` against a timeout; resolves to `onTimeout` when time runs out first. */
export async function withTimeout<T, U>(promise: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  const stop = new AbortController();
  try {
    return await Promise.race([promise, sleep(ms, stop.signal).then(() => onTimeout)]);
  } finally {
    stop.abort();
  }
}
