// What the agent has told the gateway about its GPUs and host, and what it has to tell it
// next. hello carries everything; a heartbeat carries only what moved past a small dead
// band since the last heartbeat the gateway acknowledged, so an idle agent's heartbeat is
// just `{"type":"heartbeat","running":[]}` (33 bytes: under 7 B/s at 5 s heartbeats).
//
// Acks come in order on one socket (the gateway answers every heartbeat), so the first
// unacknowledged heartbeat is the one an ack answers; a heartbeat sent before the previous
// one's ack repeats the same changes, which is harmless: readings are absolute values.
import {
  type Gpu, gpuInventoryOf, type GpuReading, gpuReadingOf, type HeartbeatMessage, type HostReading,
} from "../../../packages/protocol/src/index.ts";

/**
 * How far a value may drift from what the gateway has before it is worth a heartbeat's
 * bytes: GPU [memory_used_mb, utilization_percent, temperature_c, others, others_mb] and host
 * [cpu_percent, memory_mb, memory_used_mb, disk_free_mb]. 0: any change. Chosen so sensor noise
 * of an idle box (a degree, a few percent of CPU, page cache) stays quiet.
 */
export const DEAD_BAND = {
  gpu: [64, 10, 3, 0, 64] as const,
  host: [10, 0, 256, 1024] as const,
};

/** What the gateway holds: the inventory key, the GPUs' readings by index, the host's reading. */
interface Told {
  inventory: string;
  gpus: Map<number, GpuReading>;
  host: HostReading | null;
}

function inventoryKey(gpus: Gpu[]): string {
  return JSON.stringify(gpus.map((g, i) => gpuInventoryOf(g, i)));
}

function drifted(a: readonly (number | null)[], b: readonly (number | null)[], band: readonly number[]): boolean {
  return band.some((d, i) => {
    const x = a[i], y = b[i];
    if (x === y) return false;
    if (x === null || x === undefined || y === null || y === undefined) return true;
    return Math.abs(x - y) > d;
  });
}

/** Heartbeat fields of telemetry: `g`, `h` and, when the inventory changed, `gpus`. */
export type TelemetryFields = Pick<HeartbeatMessage, "g" | "h" | "gpus">;

/** Latest readings and the record of what the gateway acknowledged. */
export class Telemetry {
  private gpus: Gpu[];
  private host: HostReading | null;
  private acked: Told = { inventory: "", gpus: new Map(), host: null };
  /** What the gateway will hold once each unacknowledged heartbeat is acked, oldest first. */
  private pending: Told[] = [];

  constructor(gpus: Gpu[] = [], host: HostReading | null = null) {
    this.gpus = gpus;
    this.host = host;
  }

  /** Takes a new reading. */
  update(gpus: Gpu[], host: HostReading | null): void {
    this.gpus = gpus;
    this.host = host;
  }

  /** The GPUs as last read. */
  currentGpus(): Gpu[] {
    return this.gpus;
  }

  /** Everything, for a new session's hello; the gateway replaces what it held with it. */
  hello(): { gpus: Gpu[]; host?: HostReading } {
    this.acked = this.told(this.gpus, this.host);
    this.pending = [];
    return this.host ? { gpus: this.gpus, host: this.host } : { gpus: this.gpus };
  }

  /** The fields for the next heartbeat: what drifted since the last acknowledged one. */
  beat(): TelemetryFields {
    const base = this.acked;
    const fields: TelemetryFields = {};
    const now = this.told(this.gpus, this.host);
    const hostChanged = now.host !== null && (base.host === null || drifted(now.host, base.host, DEAD_BAND.host));
    if (hostChanged) fields.h = now.host!;
    // What the gateway holds after this one: the old values where nothing was sent.
    const after: Told = { inventory: base.inventory, gpus: new Map(base.gpus), host: hostChanged ? now.host : base.host };
    if (now.inventory !== base.inventory) {
      // A GPU appeared, went or was swapped: the whole list, which replaces every GPU reading held.
      fields.gpus = this.gpus;
      after.inventory = now.inventory;
      after.gpus = now.gpus;
    } else {
      const changed = [...now.gpus.values()].filter((r) => {
        const old = base.gpus.get(r[0]);
        return !old || drifted(r.slice(1), old.slice(1), DEAD_BAND.gpu);
      });
      if (changed.length > 0) fields.g = changed;
      for (const r of changed) after.gpus.set(r[0], r);
    }
    this.pending.push(after);
    if (this.pending.length > 64) this.pending.shift(); // a gateway that stopped acking: the connection loop will notice
    return fields;
  }

  /** The gateway acknowledged the oldest unacknowledged heartbeat. */
  ack(): void {
    const next = this.pending.shift();
    if (next) this.acked = next;
  }

  private told(gpus: Gpu[], host: HostReading | null): Told {
    return { inventory: inventoryKey(gpus), gpus: new Map(gpus.map((g, i) => [g.index ?? i, gpuReadingOf(g, i)])), host };
  }
}
