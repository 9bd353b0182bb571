// GPU inventory, live readings and compute processes from nvidia-smi. The parsers are pure
// functions, tested with captured output; running the binary is a thin wrapper so a box
// without a driver reports no GPUs and the agent still works.
import { type Gpu, MAX_GPUS } from "../../../packages/protocol/src/index.ts";

/** Columns of the GPU query the agent runs, in order (the parser takes them by name). */
export const GPU_COLUMNS = ["index", "uuid", "name", "memory.total", "memory.used", "utilization.gpu", "temperature.gpu"] as const;
/** Columns of the query agents ran before readings were reported; kept so old captures still parse. */
export const LEGACY_GPU_COLUMNS = ["name", "memory.total", "uuid", "utilization.gpu"] as const;

/** `nvidia-smi` arguments for the GPU list. */
export const GPU_QUERY_ARGS = [`--query-gpu=${GPU_COLUMNS.join(",")}`, "--format=csv,noheader,nounits"];
/** `nvidia-smi` arguments for the processes using each GPU. */
export const APPS_QUERY_ARGS = ["--query-compute-apps=pid,used_memory,gpu_uuid", "--format=csv,noheader,nounits"];

type Column = (typeof GPU_COLUMNS)[number] | (typeof LEGACY_GPU_COLUMNS)[number];

/** One GPU as nvidia-smi lists it (the protocol's Gpu, always with its index, before other processes are counted); readings it marks [N/A] are left out, not guessed. */
export type SmiGpu = Omit<Gpu, "index" | "other_processes"> & { index: number };

/** A process holding a GPU context. `used_memory_mb` is null where the driver will not say (Windows WDDM). */
export interface ComputeApp {
  pid: number;
  used_memory_mb: number | null;
  gpu_uuid: string;
}

/** What one look at nvidia-smi saw. */
export interface SmiReading {
  gpus: SmiGpu[];
  apps: ComputeApp[];
  /** nvidia-smi is there but failed or hung: the GPUs are unknown this time, not gone. */
  failed?: boolean;
}

const MAX_MB = 1 << 24;

function intOrNull(text: string | undefined, max: number): number | null {
  if (text === undefined || !/^-?\d+$/.test(text.trim())) return null; // "[N/A]", "[Not Supported]"
  const n = Number(text.trim());
  return Math.abs(n) <= max ? n : null;
}

const isUuid = (v: string | undefined): v is string => v !== undefined && /^(GPU|MIG)-[0-9a-fA-F-]+$/.test(v);

/**
 * Parses `nvidia-smi --query-gpu=<columns> --format=csv,noheader,nounits`. The name may
 * itself hold commas: it takes whatever columns are left over, so a model name with a comma
 * still parses. Unreadable lines are skipped; a line without an index column gets its
 * position (nvidia-smi lists GPUs in index order).
 */
export function parseNvidiaSmi(output: string, columns: readonly Column[] = GPU_COLUMNS): SmiGpu[] {
  const gpus: SmiGpu[] = [];
  const nameAt = columns.indexOf("name");
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const cells = line.split(",").map((c) => c.trim());
    const extra = cells.length - columns.length;
    if (extra < 0) continue;
    const cols = [...cells.slice(0, nameAt), cells.slice(nameAt, nameAt + extra + 1).join(", "), ...cells.slice(nameAt + extra + 1)];
    const get = (c: Column) => cols[columns.indexOf(c)];
    const name = get("name")!.slice(0, 256);
    const memory = intOrNull(get("memory.total"), MAX_MB);
    if (!name || memory === null || memory < 0) continue;
    const index = columns.includes("index") ? intOrNull(get("index"), 255) : gpus.length;
    if (index === null || index < 0) continue;
    const gpu: SmiGpu = { index, name, memory_mb: memory };
    const uuid = get("uuid");
    if (isUuid(uuid)) gpu.uuid = uuid;
    const used = columns.includes("memory.used") ? intOrNull(get("memory.used"), MAX_MB) : null;
    if (used !== null && used >= 0) gpu.memory_used_mb = used;
    const util = intOrNull(get("utilization.gpu"), 100);
    if (util !== null && util >= 0) gpu.utilization_percent = util;
    const temp = columns.includes("temperature.gpu") ? intOrNull(get("temperature.gpu"), 300) : null;
    if (temp !== null && temp >= -100) gpu.temperature_c = temp;
    gpus.push(gpu);
    if (gpus.length === MAX_GPUS) break; // the protocol accepts no more
  }
  return gpus;
}

/** Parses `nvidia-smi --query-compute-apps=pid,used_memory,gpu_uuid --format=csv,noheader,nounits`. */
export function parseComputeApps(output: string): ComputeApp[] {
  const apps: ComputeApp[] = [];
  for (const raw of output.split(/\r?\n/)) {
    const [pidText, memText, uuid] = raw.split(",").map((c) => c.trim());
    const pid = intOrNull(pidText, 2 ** 32);
    if (pid === null || pid <= 0 || !isUuid(uuid)) continue; // "No running processes found", blank lines
    const mem = intOrNull(memText, MAX_MB);
    apps.push({ pid, used_memory_mb: mem !== null && mem >= 0 ? mem : null, gpu_uuid: uuid });
    if (apps.length === 10_000) break;
  }
  return apps;
}

async function runOnce(bin: string, args: string[], timeoutMs: number): Promise<string | null | "missing"> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  try {
    const out = await new Deno.Command(bin, { args, stdin: "null", stdout: "piped", stderr: "null", signal: stop.signal }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? "missing" : null;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the first nvidia-smi that exists among `candidates`: the GPU list, then (when there
 * are GPUs) the compute processes. A missing binary means no GPUs; a failing driver or a
 * hang (bounded by `timeoutMs`) means no GPUs this time, marked `failed`; never a crash. A
 * failing process query means "none seen".
 */
export async function runNvidiaSmi(candidates: string[], timeoutMs = 10_000): Promise<SmiReading> {
  for (const bin of candidates) {
    const out = await runOnce(bin, GPU_QUERY_ARGS, timeoutMs);
    if (out === "missing") continue;
    if (out === null) return { gpus: [], apps: [], failed: true };
    const gpus = parseNvidiaSmi(out);
    if (gpus.length === 0) return { gpus, apps: [] };
    const apps = await runOnce(bin, APPS_QUERY_ARGS, timeoutMs);
    return { gpus, apps: typeof apps === "string" && apps !== "missing" ? parseComputeApps(apps) : [] };
  }
  return { gpus: [], apps: [] };
}
