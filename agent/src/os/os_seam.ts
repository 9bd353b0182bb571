// Everything that differs between Windows and Linux lives behind this interface, so the
// rest of the agent is one code path and the OS-specific parts are small enough to review
// (and to list for a manual check on a real Windows box).
import type { SmiReading } from "./nvidia_smi.ts";

/** Who jobs run as, decided at startup (docs/decisions/0009-job-account-and-folders.md). */
export type JobAccount =
  /** Jobs run as the agent's own account: they can read its credential; `reason` says why. */
  | { kind: "agent"; reason: string }
  /** A separate unprivileged account; `groups` are the supplementary groups a job gets. */
  | { kind: "separate"; name: string; uid: number; gid: number; groups: number[] }
  /**
   * A separate Windows account the installer made, logged on per attempt with the password
   * kept in `accountFile` (SYSTEM/Administrators only; re-read per spawn). Jobs start
   * through `OsSeam.spawnAsAccount`, not Deno.Command (docs/decisions/0010).
   */
  | { kind: "logon"; name: string; accountFile: string };

/** A job the OS seam started itself (not through Deno.Command): its stdout/stderr go straight to the log files. */
export interface DirectJob {
  pid: number;
  status: Promise<Deno.CommandStatus>;
}

/** What `spawnAsAccount` needs: the job's argv, folder, whole environment and log files. */
export interface DirectJobSpec {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  stdoutPath: string;
  stderrPath: string;
  attemptId: string;
  account: Extract<JobAccount, { kind: "logon" }>;
}

/** What one attempt runs as: the job account's uid, a group of the attempt's own, the account's groups. */
export interface JobRunAs {
  name: string;
  uid: number;
  gid: number;
  groups: number[];
}

/** A job's start: program, arguments, and the Deno.Command options the OS needs. */
export interface JobSpawn {
  program: string;
  args: string[];
  options: Pick<Deno.CommandOptions, "detached" | "uid" | "gid">;
}

export interface OsSeam {
  /** The `os` the agent reports in hello/enroll: "windows", "linux", "darwin"... */
  platformName(): string;
  /**
   * Who jobs run as, decided once at startup from `--job-user` (`wanted`). Where the agent
   * is privileged, a separate unprivileged account (never uid 0); otherwise the agent's own.
   * `warnings` are for the log (a missing account, a fallback, a gap).
   */
  resolveJobAccount(wanted: string, stateDir: string): Promise<{ account: JobAccount; warnings: string[] }>;
  /**
   * Starts a job as a `logon` account (Windows: CreateProcessAsUserW inside the attempt's
   * Job Object). Absent where the OS has no such accounts.
   */
  spawnAsAccount?(spec: DirectJobSpec): Promise<DirectJob>;
  /**
   * How to start a job: the program and arguments (a wrapper such as setpriv may come first)
   * and extra Deno.Command options. On Linux a new session (own process group) so killTree
   * can signal the whole tree at once, and the attempt's account when `runAs` is given.
   */
  jobSpawn(program: string, args: string[], env: Record<string, string>, runAs: JobRunAs | null): JobSpawn;
  /**
   * Opens an agent-owned folder to one attempt: group = the attempt's gid, then `mode`.
   * Where jobs run as the agent's own account (`runAs` null) it makes the folder owner-only.
   */
  ownFolder(path: string, runAs: JobRunAs | null, mode: number): Promise<void>;
  /**
   * Ends a RUNNING job's whole tree (children, grandchildren). Polite first where the OS
   * has a polite signal, forced after `graceMs`. With `runAs`, every process still holding
   * the attempt's own gid is ended too, wherever it wandered (Linux). Only call it before the job's own exit
   * was observed: on Windows a pid may be reused right after.
   */
  killTree(pid: number, graceMs: number, runAs?: JobRunAs | null): Promise<void>;
  /**
   * After the job's main process exited: ends what it left behind, where that can be done
   * safely (Linux: its process group, and with `runAs` every process holding the attempt's
   * own gid). No-op where a dead pid cannot be trusted.
   */
  killLeftovers(pid: number, runAs?: JobRunAs | null): Promise<void>;
  /**
   * After an agent restart: ends a job tree the previous agent process left running, only
   * when it can prove the processes belong to that attempt (Linux: `LB_ATTEMPT_ID` in their
   * environment, or the attempt's own `gid` from process.json). Returns how many it signalled.
   */
  killStale(pid: number, attemptId: string, gid?: number | null): Promise<number>;
  /** GPUs and the processes using them, from nvidia-smi; no GPUs when there is no NVIDIA driver. */
  readGpus(): Promise<SmiReading>;
  /**
   * Every live process of the job trees whose main processes are `roots`, roots included,
   * so GPU use by anything else counts as someone else's (Linux: process groups and
   * descendants; Windows: every process in each job's Job Object).
   */
  jobProcessIds(roots: number[]): Promise<Set<number>>;
  /** Signals that mean "stop the agent" on this OS. */
  shutdownSignals(): Deno.Signal[];
  /** Why a relative input path cannot be created on this OS (beyond the protocol's checks), or null. */
  localPathProblem(path: string): string | null;
  /**
   * Limits who can read the local control files (agent/src/control/control_file.ts):
   * control.json to administrators, plus `owner` where the admin allows it; idle-report.json
   * also to users at the console (Windows ACLs; on POSIX both stay 0600 and `owner` is not used).
   */
  restrictControlFiles(controlPath: string, reportPath: string, owner: string | null): Promise<void>;
  /**
   * A reader of how long this desktop session's user has been idle (ms), for the
   * idle-reporter running in that session; null where the OS gives none (a service, Linux).
   */
  userIdleReader(): (() => number) | null;
  /**
   * How long the local console has been idle (ms), read by the agent itself where the OS
   * lets a service see every session (Linux: logind); null where it cannot (Windows: the
   * per-session idle reporter tells it instead) or when no local user session is open.
   */
  consoleIdleMs(): Promise<number | null>;
  /** Whether chmod works (it does not on Windows, where the state folder needs an ACL). */
  supportsChmod(): boolean;
}
