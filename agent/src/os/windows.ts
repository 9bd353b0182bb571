// Windows side of the OS seam. Only a real Windows 11 box can confirm this file (see the
// checklist in agent/README.md); the Linux CI runs its pure parts only.
//
// Kill-tree: `taskkill /T /F /PID <pid>` ends the process and every process whose parent
// chain leads to it. Windows has no polite signal a service can send a console program,
// so the kill is forced at once (graceMs is not used). After the job's main process exited
// its pid may be reused immediately, so nothing is killed by pid afterwards.
import { type Gpu, windowsPathProblem } from "../../../packages/protocol/src/index.ts";
import { runNvidiaSmi } from "./nvidia_smi.ts";
import type { OsSeam } from "./os_seam.ts";

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

export const windowsSeam: OsSeam = {
  platformName: () => "windows",
  // TODO(lead): wire the Windows job account from agent/src/os/windows/ (h/windows:
  // CreateProcessAsUserW with file-redirected stdio, Job Object) here and in jobSpawn and
  // ownFolder (ACLs). Until then jobs run as the agent's own account, and `status` says so.
  resolveJobAccount: () =>
    Promise.resolve({
      account: {
        kind: "agent",
        reason: "separate job accounts are not wired on Windows yet, so jobs run as the agent's own account and can read its credential",
      },
      warnings: [],
    }),
  // No `detached`: DETACHED_PROCESS would give console jobs no console, and taskkill /T
  // follows parent links, so a shared group is not needed.
  jobSpawn: (program, args) => ({ program, args, options: {} }),
  // Windows ignores POSIX modes; the state folder's ACL (README) is what protects it.
  ownFolder: () => Promise.resolve(),
  killTree: (pid) => taskkill(pid),
  killLeftovers: () => Promise.resolve(),
  // Without a way to prove a pid still belongs to the old attempt, killing it could end an
  // unrelated program; the README lists this as a known gap (a Job Object would close it).
  killStale: () => Promise.resolve(0),
  gpuInventory: (): Promise<Gpu[]> => runNvidiaSmi(["nvidia-smi", "C:\\Windows\\System32\\nvidia-smi.exe"]),
  // SIGTERM cannot be listened to on Windows; WinSW stops a service with Ctrl+C (SIGINT)
  // and Ctrl+Break arrives as SIGBREAK.
  shutdownSignals: () => ["SIGINT", "SIGBREAK"],
  localPathProblem: windowsPathProblem,
  supportsChmod: () => false,
};
