// The host's reading for heartbeats: CPU use since the last reading, memory, and the free
// disk of the work folder. Each part that cannot be read (a permission, an OS without it)
// is null rather than a failure: telemetry must never stop the agent.
import { cpus } from "node:os";
import { statfs } from "node:fs/promises";
import type { HostReading } from "../../../packages/protocol/src/index.ts";

const MIB = 1024 * 1024;

function cpuTimes(): { idle: number; total: number } | null {
  try {
    let idle = 0, total = 0;
    for (const c of cpus()) {
      const t = c.times;
      idle += t.idle;
      total += t.user + t.nice + t.sys + t.idle + t.irq;
    }
    return total > 0 ? { idle, total } : null;
  } catch {
    return null;
  }
}

/** Takes host readings; CPU use is the share of busy time between two readings (null on the first). */
export class HostReadings {
  private last = cpuTimes();

  constructor(private readonly workRoot: string) {}

  async read(): Promise<HostReading> {
    const now = cpuTimes();
    let cpu: number | null = null;
    if (now && this.last && now.total > this.last.total) {
      cpu = Math.round(100 * (1 - (now.idle - this.last.idle) / (now.total - this.last.total)));
      cpu = Math.min(100, Math.max(0, cpu));
    }
    if (now) this.last = now;
    let memory: number | null = null, used: number | null = null;
    try {
      const m = Deno.systemMemoryInfo();
      memory = Math.round(m.total / MIB);
      used = Math.max(0, Math.round((m.total - m.available) / MIB));
    } catch { /* not allowed or not supported: unknown */ }
    let disk: number | null = null;
    try {
      const s = await statfs(this.workRoot);
      disk = Math.round((Number(s.bavail) * Number(s.bsize)) / MIB);
    } catch { /* not allowed or not supported: unknown */ }
    return [cpu, memory, used, disk];
  }
}
