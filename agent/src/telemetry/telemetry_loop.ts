// Re-reads the GPUs (inventory and readings: one nvidia-smi query gives both) and the
// host every interval, jittered, and keeps the latest in Telemetry for the next heartbeat.
// A GPU that appears, goes or is swapped is seen within one interval, not at the next start.
// One nvidia-smi that fails or hangs (a busy driver) does not make the GPUs vanish: the last
// list stands until FAILED_READS_BEFORE_GONE reads in a row failed.
import type { Gpu, HostReading } from "../../../packages/protocol/src/index.ts";
import { jittered } from "../session/backoff.ts";
import type { Logger } from "../runtime/log.ts";
import { errorText } from "../runtime/log.ts";
import type { Telemetry } from "./telemetry.ts";
import { sleep } from "../runtime/timers.ts";

/** Failed GPU reads in a row after which the agent reports no GPUs (a driver that broke for good). */
export const FAILED_READS_BEFORE_GONE = 3;

/** Where readings come from. */
export interface TelemetrySources {
  gpus(): Promise<Gpu[]>;
  host(): Promise<HostReading>;
}

/** One reading of both; `gpus` is null when they could not be read, `host` when it could not. */
export async function readTelemetry(src: TelemetrySources, log: Logger): Promise<{ gpus: Gpu[] | null; host: HostReading | null }> {
  const [gpus, host] = await Promise.all([
    src.gpus().catch((e) => (log.debug("cannot read GPUs", { error: errorText(e) }), null)),
    src.host().catch((e) => (log.debug("cannot read host telemetry", { error: errorText(e) }), null)),
  ]);
  return { gpus, host };
}

/** Reads every `intervalMs` (±10%) until `signal` aborts. */
export async function telemetryLoop(
  telemetry: Telemetry, src: TelemetrySources, intervalMs: number, log: Logger, signal: AbortSignal, random?: () => number,
): Promise<void> {
  let failed = 0;
  while (!signal.aborted) {
    await sleep(jittered(intervalMs, 0.1, random), signal);
    if (signal.aborted) return;
    const before = telemetry.currentGpus();
    const read = await readTelemetry(src, log);
    failed = read.gpus === null ? failed + 1 : 0;
    // Logged once per change of state, not every few seconds while a driver is down.
    if (failed === 1) log.warn("cannot read GPUs; keeping the last list for now");
    const gpus = read.gpus ?? (failed >= FAILED_READS_BEFORE_GONE ? [] : before);
    if (gpus.length !== before.length) log.info("GPU inventory changed", { gpus: gpus.map((g) => g.name) });
    telemetry.update(gpus, read.host);
  }
}
