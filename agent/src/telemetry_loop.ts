// Re-reads the GPUs (inventory and readings: one nvidia-smi query gives both) and the
// host every interval, jittered, and keeps the latest in Telemetry for the next heartbeat.
// A GPU that appears, goes or is swapped is seen within one interval, not at the next start.
import type { Gpu, HostReading } from "../../packages/protocol/src/index.ts";
import { jittered } from "./backoff.ts";
import type { Logger } from "./log.ts";
import { errorText } from "./log.ts";
import type { Telemetry } from "./telemetry.ts";
import { sleep } from "./timers.ts";

/** Where readings come from. */
export interface TelemetrySources {
  gpus(): Promise<Gpu[]>;
  host(): Promise<HostReading>;
}

/** One reading of both; a failing source reads as nothing rather than stopping the agent. */
export async function readTelemetry(src: TelemetrySources, log: Logger): Promise<{ gpus: Gpu[]; host: HostReading | null }> {
  const [gpus, host] = await Promise.all([
    src.gpus().catch((e) => (log.warn("cannot read GPUs", { error: errorText(e) }), [] as Gpu[])),
    src.host().catch((e) => (log.warn("cannot read host telemetry", { error: errorText(e) }), null)),
  ]);
  return { gpus, host };
}

/** Reads every `intervalMs` (±10%) until `signal` aborts. */
export async function telemetryLoop(
  telemetry: Telemetry, src: TelemetrySources, intervalMs: number, log: Logger, signal: AbortSignal, random?: () => number,
): Promise<void> {
  while (!signal.aborted) {
    await sleep(jittered(intervalMs, 0.1, random), signal);
    if (signal.aborted) return;
    const before = telemetry.currentGpus().length;
    const { gpus, host } = await readTelemetry(src, log);
    if (gpus.length !== before) log.info("GPU inventory changed", { gpus: gpus.map((g) => g.name) });
    telemetry.update(gpus, host);
  }
}
