// GPU inventory from nvidia-smi. The parser is a pure function, tested with captured
// output; running the binary is a thin wrapper so a box without a driver reports [].
import type { Gpu } from "../../../packages/protocol/src/index.ts";

/** The query the agent runs; the parser expects exactly these columns, in this order. */
export const NVIDIA_SMI_ARGS = ["--query-gpu=name,memory.total,uuid,utilization.gpu", "--format=csv,noheader,nounits"];

function intOrNull(text: string | undefined): number | null {
  if (text === undefined || !/^\d+$/.test(text.trim())) return null; // "[N/A]", "[Not Supported]"
  return Number(text.trim());
}

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total,uuid,utilization.gpu
 * --format=csv,noheader,nounits`. The name is taken as everything before the last three
 * columns, so a model name with a comma still parses; unreadable lines are skipped.
 */
export function parseNvidiaSmi(output: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const cols = line.split(",").map((c) => c.trim());
    if (cols.length < 4) continue;
    const util = cols.pop();
    const uuid = cols.pop();
    const memory = cols.pop();
    const name = cols.join(", ").slice(0, 256);
    if (!name) continue;
    const gpu: Gpu = { name, memory_mb: Math.min(intOrNull(memory) ?? 0, 1 << 24) };
    if (uuid && /^GPU-[0-9a-fA-F-]+$/.test(uuid)) gpu.uuid = uuid;
    const u = intOrNull(util);
    if (u !== null && u <= 100) gpu.utilization_percent = u;
    gpus.push(gpu);
    if (gpus.length === 16) break; // the protocol accepts at most 16
  }
  return gpus;
}

/**
 * Runs the first nvidia-smi that exists among `candidates` and parses it. A missing binary,
 * a failing driver or a hang (bounded by `timeoutMs`) all mean "no GPUs", never a crash.
 */
export async function runNvidiaSmi(candidates: string[], timeoutMs = 10_000): Promise<Gpu[]> {
  for (const bin of candidates) {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), timeoutMs);
    try {
      const out = await new Deno.Command(bin, {
        args: NVIDIA_SMI_ARGS,
        stdin: "null",
        stdout: "piped",
        stderr: "null",
        signal: stop.signal,
      }).output();
      if (!out.success) return [];
      return parseNvidiaSmi(new TextDecoder().decode(out.stdout));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      return [];
    } finally {
      clearTimeout(timer);
    }
  }
  return [];
}
