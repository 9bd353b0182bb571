// The GPUs as the agent reports them: nvidia-smi's list, with each GPU's use by processes
// that are not the agent's jobs (someone at the workstation, another tool). Which processes
// are the jobs' is the OS seam's answer, from the jobs' main pids.
import type { Gpu } from "../../../packages/protocol/src/index.ts";
import type { OsSeam } from "../os/os_seam.ts";

/** nvidia-smi is there but did not answer: the GPUs are unknown this time, not gone. */
export class GpuReadFailed extends Error {}

/** Reads the GPUs now; `jobRoots` are the main pids of the jobs running. Throws GpuReadFailed when nvidia-smi failed. */
export async function readGpus(os: Pick<OsSeam, "readGpus" | "jobProcessIds">, jobRoots: number[]): Promise<Gpu[]> {
  const { gpus, apps, failed } = await os.readGpus();
  if (failed) throw new GpuReadFailed("nvidia-smi failed or did not answer in time");
  // Only ask the OS about process trees when some process holds a GPU at all (the usual idle case costs nothing).
  const ours = apps.length > 0 ? await os.jobProcessIds(jobRoots) : new Set<number>();
  return gpus.map((g) => {
    const others = g.uuid ? apps.filter((a) => a.gpu_uuid === g.uuid && !ours.has(a.pid)) : [];
    const known = others.every((a) => a.used_memory_mb !== null);
    return {
      ...g,
      other_processes: {
        count: others.length,
        memory_mb: known ? others.reduce((sum, a) => sum + a.used_memory_mb!, 0) : null,
      },
    };
  });
}
