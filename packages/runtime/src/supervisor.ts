// Process lifecycle shared by the services: periodic loops that survive a failed pass,
// and a graceful stop on SIGTERM/SIGINT that lets each service finish what it holds.
import type { Logger } from "@labbridge/logging";
import { sleep } from "./clock.ts";

/**
 * Runs a loop body until aborted, waiting `intervalMs` (jittered by the caller's function)
 * between passes; a body that returns true has more to do and runs again at once. Errors
 * are logged, not fatal.
 */
export async function every(signal: AbortSignal, log: Logger, name: string, intervalMs: () => number, body: () => Promise<boolean | void>): Promise<void> {
  while (!signal.aborted) {
    let more: boolean | void = false;
    try {
      more = await body();
    } catch (err) {
      log.warn({ loop: name, err: (err as Error).message }, "loop pass failed");
    }
    if (!more) await sleep(intervalMs(), signal);
  }
}

/**
 * On SIGTERM or SIGINT, runs `stop` (which stops the service's loops after the work in
 * hand and closes its connections), then exits; a stop that hangs past `graceMs` is cut.
 */
export function stopOnSignals(log: Logger, stop: () => Promise<void>, graceMs = 10_000): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, "stopping");
    const timer = setTimeout(() => {
      log.warn({ grace_ms: graceMs }, "stop took too long, exiting");
      process.exit(1);
    }, graceMs);
    timer.unref();
    stop().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err) => {
        log.error({ err: (err as Error).message }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}

/**
 * Starts a service whose start is asynchronous with its stop already on SIGTERM/SIGINT. The
 * handlers go in before the start's first await, so a signal that comes between "listening"
 * and the end of the start (a supervisor that stops what it just saw come up) is a graceful
 * stop once the start is done, never the default action that kills the process mid-start.
 */
export function startUntilSignal<T extends { close: () => Promise<void> }>(log: Logger, start: () => Promise<T>, graceMs = 10_000): Promise<T> {
  const started = start();
  stopOnSignals(log, async () => (await started).close(), graceMs);
  return started;
}
