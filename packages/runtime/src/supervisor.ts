// Starts a service's long-running loops, and stops them on SIGTERM/SIGINT: abort the shared
// signal, wait for each loop to finish what it holds (bounded), then close connections.
import type { Logger } from "@labbridge/logging";
import { sleep } from "./clock.ts";

/** A named loop that runs until the signal aborts. */
export interface Loop {
  name: string;
  run: (signal: AbortSignal) => Promise<void>;
}

/** Runs a loop body every `intervalMs` (jittered by the caller's function) until aborted; errors are logged, not fatal. */
export async function every(signal: AbortSignal, log: Logger, name: string, intervalMs: () => number, body: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    try {
      await body();
    } catch (err) {
      log.warn({ loop: name, err: (err as Error).message }, "loop pass failed");
    }
    await sleep(intervalMs(), signal);
  }
}

/** Runs loops until a signal (or `stop()`), then stops them and runs the closers in order. */
export function supervise(log: Logger, loops: Loop[], closers: (() => Promise<unknown> | unknown)[], graceMs = 10_000) {
  const controller = new AbortController();
  const running = loops.map((l) =>
    l.run(controller.signal).catch((err) => {
      log.error({ loop: l.name, err: (err as Error).message }, "loop crashed");
      if (!controller.signal.aborted) process.exitCode = 1;
    })
  );
  let stopping: Promise<void> | null = null;
  const stop = (reason: string) => {
    stopping ??= (async () => {
      log.info({ reason }, "stopping");
      controller.abort();
      await Promise.race([Promise.all(running), sleep(graceMs)]);
      for (const close of closers) await Promise.resolve(close()).catch(() => undefined);
      log.info("stopped");
    })();
    return stopping;
  };
  const onSignal = (sig: NodeJS.Signals) => void stop(sig).then(() => process.exit(process.exitCode ?? 0));
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  return { signal: controller.signal, stop };
}
