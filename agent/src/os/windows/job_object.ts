// One Windows Job Object per attempt: every process of the job, and every process those
// start, is in it (children cannot break away: no BREAKAWAY_OK flag), so ending the job
// ends exactly its processes, never an unrelated program that reused a pid. It is created
// with KILL_ON_JOB_CLOSE, so when the agent's handle closes (the agent ends the attempt,
// or the agent itself crashes) Windows ends whatever is left. It is named
// `Global\LabBridge-<attempt_id>`, so a restarted agent can find a predecessor's job by
// attempt id and end it (the backstop for the case where a handle outlived the crash).
import { closeHandle, type Kernel32, lastError } from "./kernel32.ts";
import {
  JOBOBJECT_BASIC_ACCOUNTING_INFORMATION_SIZE,
  JOBOBJECT_BASIC_PROCESS_ID_LIST_SIZE,
  readProcessIdList,
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION_SIZE,
  packExtendedLimitInformation,
  readAccountingInformation,
} from "./structs.ts";
import {
  JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION,
  JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
  JOB_OBJECT_QUERY,
  JOB_OBJECT_TERMINATE,
  JobObjectBasicAccountingInformation,
  JobObjectBasicProcessIdList,
  JobObjectExtendedLimitInformation,
  PROCESS_SET_QUOTA,
  PROCESS_TERMINATE,
} from "./win32_constants.ts";
import { wideString } from "./wide_string.ts";

/**
 * Limits every attempt's job gets: killed when the last handle closes; a crashing
 * process dies at once instead of waiting on a Windows Error Reporting dialog nobody sees
 * in session 0.
 */
export const JOB_LIMIT_FLAGS = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;

/** Exit code of processes ended through their job (what GetExitCodeProcess then reports). */
export const JOB_KILLED_EXIT_CODE = 1;

/**
 * The kernel object name for an attempt's job. `Global\` puts it in the one namespace
 * all sessions share, so the service (session 0) finds it whichever session made it;
 * creating a Global object needs SeCreateGlobalPrivilege, which LocalSystem has and the
 * job account (batch logon) does not, so a job cannot plant one for a future attempt.
 */
export function jobObjectName(attemptId: string): string {
  // A backslash would move the name into another namespace; attempt ids never hold one.
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(attemptId)) throw new RangeError(`Attempt id "${attemptId}" cannot name a job object`);
  return `Global\\LabBridge-${attemptId}`;
}

export class JobObject {
  private open = true;

  private constructor(private readonly k32: Kernel32, readonly handle: bigint, readonly name: string) {}

  /**
   * Creates the named job with JOB_LIMIT_FLAGS. Refuses a name that already exists:
   * CreateJobObjectW would silently open it, and a job left over (or planted) under this
   * attempt's name is not ours to reuse.
   */
  static create(k32: Kernel32, name: string): JobObject {
    const existing = JobObject.open(k32, name);
    if (existing) {
      existing.close();
      throw new Error(`Job object "${name}" already exists`);
    }
    const handle = k32.CreateJobObjectW(null, wideString(name));
    if (handle === 0n) throw lastError(k32, "CreateJobObjectW");
    const job = new JobObject(k32, handle, name);
    const info = packExtendedLimitInformation(JOB_LIMIT_FLAGS);
    if (k32.SetInformationJobObject(handle, JobObjectExtendedLimitInformation, info, JOBOBJECT_EXTENDED_LIMIT_INFORMATION_SIZE) === 0) {
      const err = lastError(k32, "SetInformationJobObject");
      job.close();
      throw err;
    }
    return job;
  }

  /** Opens an existing named job to query and end it; null when there is none (or it is not ours to open). */
  static open(k32: Kernel32, name: string): JobObject | null {
    const handle = k32.OpenJobObjectW(JOB_OBJECT_QUERY | JOB_OBJECT_TERMINATE, 0, wideString(name));
    return handle === 0n ? null : new JobObject(k32, handle, name);
  }

  /** Puts a (still suspended) process into the job; its future children follow it in. */
  assign(processHandle: bigint): void {
    if (this.k32.AssignProcessToJobObject(this.handle, processHandle) === 0) throw lastError(this.k32, "AssignProcessToJobObject");
  }

  /** Ends every process in the job (Windows finishes the termination asynchronously). */
  terminate(exitCode = JOB_KILLED_EXIT_CODE): void {
    if (!this.open) throw new Error(`Job object "${this.name}" is already closed`);
    if (this.k32.TerminateJobObject(this.handle, exitCode) === 0) throw lastError(this.k32, "TerminateJobObject");
  }

  /** How many processes are still in the job; null when it cannot be asked. */
  activeProcesses(): number | null {
    if (!this.open) return null;
    const info = new Uint8Array(JOBOBJECT_BASIC_ACCOUNTING_INFORMATION_SIZE);
    const ok = this.k32.QueryInformationJobObject(this.handle, JobObjectBasicAccountingInformation, info, info.byteLength, null);
    return ok === 0 ? null : readAccountingInformation(info).activeProcesses;
  }

  /** The pids of the processes in the job (up to JOB_PROCESS_ID_LIST_CAPACITY); null when it cannot be asked. */
  processIds(): number[] | null {
    if (!this.open) return null;
    const info = new Uint8Array(JOBOBJECT_BASIC_PROCESS_ID_LIST_SIZE);
    const ok = this.k32.QueryInformationJobObject(this.handle, JobObjectBasicProcessIdList, info, info.byteLength, null);
    return ok === 0 ? null : readProcessIdList(info);
  }

  /** Closes the agent's handle (idempotent). With KILL_ON_JOB_CLOSE this ends what is left, once no other handle is open. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    closeHandle(this.k32, this.handle);
  }
}

/** Sleeps; injected so tests of the wait below run without real time. */
export type Sleep = (ms: number) => Promise<void>;

/**
 * TerminateJobObject, then waits (up to `timeoutMs`) until the job holds no process, so a
 * caller can count on "gone" (termination is asynchronous). Returns how many processes
 * were in the job when it was ended.
 */
export async function endJob(job: JobObject, sleep: Sleep, timeoutMs = 5_000): Promise<number> {
  const before = job.activeProcesses() ?? 0;
  job.terminate();
  for (let waited = 0; waited < timeoutMs; waited += 50) {
    const left = job.activeProcesses();
    if (left === null || left === 0) break;
    await sleep(50);
  }
  return before;
}

/**
 * The jobs of running attempts, by main-process pid: the OS seam is called with a pid, so
 * this is how its kill path finds the Job Object that spawnAsUser made for that pid.
 */
export class JobTable {
  private readonly byPid = new Map<number, JobObject>();

  /** Remembers the job of a freshly started process. */
  add(pid: number, job: JobObject): void {
    this.byPid.set(pid, job);
  }

  /** The job of a running process, if it has one. */
  get(pid: number): JobObject | undefined {
    return this.byPid.get(pid);
  }

  /** Removes and returns the job, for the last step of an attempt. */
  take(pid: number): JobObject | undefined {
    const job = this.byPid.get(pid);
    this.byPid.delete(pid);
    return job;
  }
}

/**
 * Puts an already running process (one Deno.Command started) into a new Job Object for
 * its attempt and registers it, so the seam's kill path can use the job. Weaker than
 * spawnAsUser's suspended start: children the process started before this call stay
 * outside the job; everything it starts afterwards is inside. For the Deno.Command spawn
 * path until spawnAsUser is wired in.
 */
export function adoptProcess(k32: Kernel32, jobs: JobTable, pid: number, attemptId: string): JobObject {
  const job = JobObject.create(k32, jobObjectName(attemptId));
  const process = k32.OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, 0, pid);
  if (process === 0n) {
    const err = lastError(k32, "OpenProcess");
    job.close();
    throw err;
  }
  try {
    job.assign(process);
  } catch (e) {
    job.close();
    throw e;
  } finally {
    closeHandle(k32, process);
  }
  jobs.add(pid, job);
  return job;
}
