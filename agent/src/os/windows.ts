// Windows side of the OS seam. Only a real Windows 11 box can confirm this file (see
// docs/WINDOWS-CHECKLIST.md); the Linux CI runs its pure parts only.
//
// Kill-tree: each attempt started through windows/spawn_as_user.ts runs in its own Job
// Object (windows/job_object.ts), registered in `windowsJobs` by main-process pid.
// killTree and killLeftovers end the job with TerminateJobObject: every process the job
// started, however deep, and nothing else (a job handle, unlike a pid, cannot be reused).
// killStale opens a crashed predecessor's job by its name, which carries the attempt id.
// Where there is no Job Object (FFI unavailable, or a process spawned by Deno.Command),
// `taskkill /T /F /PID <pid>` is the fallback: it follows parent links, so it misses
// orphans whose parent already died, and it cannot be used once the pid may be reused.
// Windows has no polite signal a service can send a console program, so the kill is
// forced at once (graceMs is not used).
import { windowsPathProblem } from "../../../packages/protocol/src/index.ts";
import { createLogger, errorText, type Logger } from "../runtime/log.ts";
import { runNvidiaSmi } from "./nvidia_smi.ts";
import type { OsSeam } from "./os_seam.ts";
import { endJob, JobObject, jobObjectName, JobTable, type Sleep } from "./windows/job_object.ts";
import { type Kernel32, loadWin32, type Win32Load } from "./windows/kernel32.ts";
import { resolveWindowsJobAccount, spawnAsInstalledAccount } from "./windows/windows_jobs.ts";
import { restrictWindowsControlFiles } from "./windows/control_file_acl.ts";
import { runProgram } from "./windows/work_folder_acl.ts";
import { loadIdleWin32, userIdleMs } from "./windows/user_idle.ts";

// The rules live in the protocol package, which the API also applies to inputs at submit.
export { windowsPathProblem };

async function taskkill(pid: number): Promise<void> {
  try {
    // Exit code 128 means "no such process": already gone, which is what we wanted.
    await new Deno.Command("taskkill", { args: ["/T", "/F", "/PID", String(pid)], stdin: "null", stdout: "null", stderr: "null" }).output();
  } catch {
    // taskkill missing from PATH is a broken Windows install; the caller logs the outcome.
  }
}

/** What the Windows kill path needs; injected so tests drive it with fake bindings. */
export interface WindowsKillDeps {
  /** The Win32 bindings, asked for lazily (the first kill), or why there are none. */
  win32: () => Win32Load;
  jobs: JobTable;
  taskkill: (pid: number) => Promise<void>;
  sleep: Sleep;
  log: Logger;
}

/** The kill half of the Windows seam: Job Objects where there are some, taskkill /T where not. */
export function windowsKill(deps: WindowsKillDeps): Pick<OsSeam, "killTree" | "killLeftovers" | "killStale"> {
  let loaded: Win32Load | null = null;
  let warned = false;
  const kernel32 = (): Kernel32 | null => {
    loaded ??= deps.win32();
    if (loaded.ok) return loaded.win32.kernel32;
    if (!warned) {
      warned = true;
      deps.log.warn("Win32 FFI unavailable; job trees are ended with taskkill /T, which misses orphans", { reason: loaded.reason });
    }
    return null;
  };
  return {
    async killTree(pid) {
      const job = deps.jobs.get(pid);
      if (job) {
        try {
          await endJob(job, deps.sleep);
          return;
        } catch (e) {
          deps.log.warn("cannot end the job object; falling back to taskkill /T", { pid, error: errorText(e) });
        }
      } else {
        kernel32(); // says once why there is no Job Object to use
      }
      await deps.taskkill(pid);
    },
    async killLeftovers(pid) {
      // The main process exited, so its pid may already name another program: only the
      // job handle is trusted now. Without one there is nothing safe to do.
      const job = deps.jobs.take(pid);
      if (!job) return;
      try {
        // null (cannot ask) is treated as "maybe some": ending an empty job is harmless.
        if (job.activeProcesses() !== 0) await endJob(job, deps.sleep);
      } finally {
        job.close();
      }
    },
    async killStale(_pid, attemptId) {
      const k32 = kernel32();
      if (!k32) return 0;
      let job: JobObject | null;
      try {
        job = JobObject.open(k32, jobObjectName(attemptId));
      } catch (e) {
        deps.log.warn("cannot look for a previous agent's job object", { attempt_id: attemptId, error: errorText(e) });
        return 0;
      }
      if (!job) return 0; // gone with the crashed agent's handle (KILL_ON_JOB_CLOSE), or never made
      try {
        return await endJob(job, deps.sleep);
      } finally {
        job.close();
      }
    },
  };
}

/** The Job Objects of this agent process's running attempts; spawnAsUser adds to it, the kill path takes from it. */
/**
 * The pids of the jobs whose main processes are `roots`: every process in each one's Job
 * Object (children cannot break away), plus the roots themselves. A root without a job (or
 * whose job cannot be asked) counts alone, so a child of it on a GPU counts as someone
 * else's: a false "busy", never a missed one.
 */
export function jobTreePidsFromJobs(jobs: JobTable, roots: number[]): Set<number> {
  const pids = new Set(roots);
  for (const root of roots) for (const pid of jobs.get(root)?.processIds() ?? []) pids.add(pid);
  return pids;
}

export const windowsJobs = new JobTable();

const windowsKillPath = windowsKill({
  win32: loadWin32,
  jobs: windowsJobs,
  taskkill,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  log: createLogger().child({ component: "windows_kill" }),
});

export const windowsSeam: OsSeam = {
  platformName: () => "windows",
  // Jobs run as the installer's job account, logged on per attempt and started inside their
  // Job Object (windows/windows_jobs.ts, docs/decisions/0010-windows-job-account.md).
  resolveJobAccount: (wanted, stateDir) => resolveWindowsJobAccount(wanted, stateDir, Deno.env.toObject()),
  spawnAsAccount: (spec) => spawnAsInstalledAccount(spec, { win32: loadWin32, jobs: windowsJobs }),
  // No `detached`: DETACHED_PROCESS would give console jobs no console, and taskkill /T
  // follows parent links, so a shared group is not needed.
  jobSpawn: (program, args) => ({ program, args, options: {} }),
  // Windows ignores POSIX modes; the state folder's ACL (README) is what protects it.
  ownFolder: () => Promise.resolve(),
  ...windowsKillPath,
  readGpus: () => runNvidiaSmi(["nvidia-smi", "C:\\Windows\\System32\\nvidia-smi.exe"]),
  jobProcessIds: (roots) => Promise.resolve(jobTreePidsFromJobs(windowsJobs, roots)),
  // SIGTERM cannot be listened to on Windows; WinSW stops a service with Ctrl+C (SIGINT)
  // and Ctrl+Break arrives as SIGBREAK.
  shutdownSignals: () => ["SIGINT", "SIGBREAK"],
  localPathProblem: windowsPathProblem,
  userIdleReader: () => {
    const w = loadIdleWin32();
    return w ? () => userIdleMs(w) : null;
  },
  // A service in session 0 cannot see the console's input: the idle reporter in each session posts it (decision 0034).
  consoleIdleMs: () => Promise.resolve(null),
  restrictControlFiles: (control, report, owner) => restrictWindowsControlFiles(control, report, owner, runProgram),
  supportsChmod: () => false,
};
