// Everything that differs between Windows and Linux lives behind this interface, so the
// rest of the agent is one code path and the OS-specific parts are small enough to review
// (and to list for a manual check on a real Windows box).
import type { Gpu } from "../../../packages/protocol/src/index.ts";

export interface OsSeam {
  /** The `os` the agent reports in hello/enroll: "windows", "linux", "darwin"... */
  platformName(): string;
  /**
   * Extra Deno.Command options for a job: on Linux a new session (own process group) so
   * killTree can signal the whole tree at once.
   */
  spawnOptions(): Pick<Deno.CommandOptions, "detached">;
  /**
   * Ends a RUNNING job's whole tree (children, grandchildren). Polite first where the OS
   * has a polite signal, forced after `graceMs`. Only call it before the job's own exit
   * was observed: on Windows a pid may be reused right after.
   */
  killTree(pid: number, graceMs: number): Promise<void>;
  /**
   * After the job's main process exited: ends what it left behind, where that can be done
   * safely (Linux: its process group). No-op where a dead pid cannot be trusted.
   */
  killLeftovers(pid: number): Promise<void>;
  /**
   * After an agent restart: ends a job tree the previous agent process left running, only
   * when it can prove the processes belong to that attempt. Returns how many it signalled.
   */
  killStale(pid: number, attemptId: string): Promise<number>;
  /** GPUs from nvidia-smi; [] when there is no NVIDIA driver. */
  gpuInventory(): Promise<Gpu[]>;
  /** Signals that mean "stop the agent" on this OS. */
  shutdownSignals(): Deno.Signal[];
  /** Why a relative input path cannot be created on this OS (beyond the protocol's checks), or null. */
  localPathProblem(path: string): string | null;
  /** Whether chmod works (it does not on Windows, where the state folder needs an ACL). */
  supportsChmod(): boolean;
}
