// Starts one attempt's job on Windows as the unprivileged job account, inside the
// attempt's Job Object. Deno.Command cannot take a user token, so this is CreateProcessAsUserW
// through FFI (why this mechanism: docs/decisions/0010-windows-job-account.md).
//
// Interface, for the OS seam's spawn wiring:
//
//   const proc = await spawnAsUser(spec, { win32, jobs: windowsJobs });
//   proc.pid      // the job's main process id (also the key under which its Job Object sits in `jobs`)
//   proc.status   // Promise<{ success, code, signal: null }>: the main process's exit, like Deno.CommandStatus
//                 // (rejects only if Windows cannot wait on the process handle at all)
//
// - spec.argv[0] is the program: an absolute path, or a name CreateProcess resolves (the
//   agent's own folder, System32, the Windows folder, then the agent's PATH). The rest
//   are its arguments, quoted by the CRT rules (command_line.ts).
// - spec.env is the job's whole environment: nothing is inherited from the agent.
// - stdout/stderr go straight to spec.stdoutPath / spec.stderrPath (created, truncated);
//   stdin is NUL. The agent reads progress by tailing stdoutPath (log_tailer.ts).
// - The work folder spec.cwd is granted to this logon session's SID before the job runs.
// - The Job Object (`Global\LabBridge-<attemptId>`, kill-on-close) is registered in
//   `jobs` under the pid: the seam's killTree/killLeftovers end and close it from there.
// - Throws SpawnAsUserError (nothing left open, nothing running) when the job cannot start.
// - Where the parts come from: win32 = loadWin32() (kernel32.ts), jobs = windowsJobs
//   (../windows.ts), spec.account = readJobAccount(stateDir) (job_account_file.ts; null
//   means no job account was installed, and the seam must then refuse to run jobs as
//   SYSTEM rather than fall back to Deno.Command).
//
// Order: job object → logon → ACL → (one synchronous stretch, so no other spawn in this
// process can inherit the log handles meanwhile) inheritable log handles → CreateProcessAsUserW
// (CREATE_SUSPENDED) → AssignProcessToJobObject → ResumeThread → close what the child now
// holds. Suspended first, so not one instruction of the job runs outside its Job Object.
import type { DirectJobSpec } from "../os_seam.ts";
import { grantWorkFolder, type RunProgram, runProgram } from "./work_folder_acl.ts";
import { windowsCommandLine } from "./command_line.ts";
import { environmentBlock } from "./environment_block.ts";
import { JobObject, jobObjectName, type JobTable } from "./job_object.ts";
import { closeHandle, type Kernel32, lastError, type Win32 } from "./kernel32.ts";
import { logonSid } from "./logon_sid.ts";
import {
  dwordOut,
  handleOut,
  packHandles,
  packSecurityAttributes,
  packStartupInfoEx,
  PROCESS_INFORMATION_SIZE,
  readDwordOut,
  readHandleOut,
  readProcessInformation,
} from "./structs.ts";
import {
  CREATE_ALWAYS,
  CREATE_NEW_PROCESS_GROUP,
  CREATE_NO_WINDOW,
  CREATE_SUSPENDED,
  CREATE_UNICODE_ENVIRONMENT,
  EXTENDED_STARTUPINFO_PRESENT,
  FILE_ATTRIBUTE_NORMAL,
  FILE_SHARE_DELETE,
  FILE_SHARE_READ,
  FILE_SHARE_WRITE,
  GENERIC_READ,
  GENERIC_WRITE,
  INFINITE,
  INVALID_HANDLE_VALUE,
  LMEM_FIXED,
  LMEM_ZEROINIT,
  LOGON32_LOGON_BATCH,
  LOGON32_PROVIDER_DEFAULT,
  OPEN_EXISTING,
  PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
  RESUME_FAILED,
  STARTF_USESTDHANDLES,
  WAIT_OBJECT_0,
} from "./win32_constants.ts";
import { wideString } from "./wide_string.ts";

/** The local account jobs run as, with the password the installer generated (ADR 0010). */
export interface JobAccount {
  user: string;
  /** "." for a local account. */
  domain: string;
  password: string;
}

/** The seam's job spec (argv, folder, environment, log files, attempt), with the account's logon details. */
export interface SpawnAsUserSpec extends Omit<DirectJobSpec, "account"> {
  account: JobAccount;
}

export interface SpawnAsUserBindings {
  win32: Win32;
  /** Where the attempt's Job Object is registered for the seam's kill path. */
  jobs: JobTable;
  /** Runs icacls; defaults to Deno.Command. */
  run?: RunProgram;
}

/** Like Deno.CommandStatus: Windows has no signals, so `signal` is always null. */
export interface UserProcessStatus {
  success: boolean;
  code: number;
  signal: null;
}

export interface UserProcess {
  pid: number;
  status: Promise<UserProcessStatus>;
}

export class SpawnAsUserError extends Error {
  override name = "SpawnAsUserError";
}

/**
 * The creation flags: suspended until it is in its job; UTF-16 env; its own Ctrl+C group;
 * no console window in session 0; a STARTUPINFOEXW (for the handle list).
 */
export const CREATION_FLAGS = CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT | CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW | EXTENDED_STARTUPINFO_PRESENT;

const SHARE_ALL = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

/** Opens a file as an inheritable handle; the caller closes it once the child has its copy. */
function openInheritable(k32: Kernel32, path: string, access: number, disposition: number): bigint {
  // Shared for reading and deleting: the agent tails and uploads the logs while the job
  // writes them, and removes the folder afterwards.
  const h = k32.CreateFileW(wideString(path), access, SHARE_ALL, packSecurityAttributes(true), disposition, FILE_ATTRIBUTE_NORMAL, 0n);
  if (h === INVALID_HANDLE_VALUE || h === 0n) throw new SpawnAsUserError(`cannot open "${path}" for the job: ${lastError(k32, "CreateFileW").message}`);
  return h;
}

/**
 * A PROC_THREAD_ATTRIBUTE_LIST holding PROC_THREAD_ATTRIBUTE_HANDLE_LIST = `handles`: the
 * child inherits exactly these, not every inheritable handle the agent happens to hold
 * (its own stdout pipe from WinSW, for one). Both the list and the handle array live in
 * LocalAlloc memory, since Windows keeps a pointer to the array. release() undoes it all.
 */
function handleListAttribute(k32: Kernel32, handles: readonly bigint[]): { list: bigint; release: () => void } {
  const size = handleOut();
  k32.InitializeProcThreadAttributeList(0n, 1, 0, size); // asks the size; "fails" with ERROR_INSUFFICIENT_BUFFER
  const listSize = readHandleOut(size);
  if (listSize === 0n) throw lastError(k32, "InitializeProcThreadAttributeList");
  const bytes = BigInt(8 * handles.length);
  const list = k32.LocalAlloc(LMEM_FIXED | LMEM_ZEROINIT, listSize);
  if (list === 0n) throw lastError(k32, "LocalAlloc");
  const values = k32.LocalAlloc(LMEM_FIXED, bytes);
  let initialised = false;
  const release = () => {
    if (initialised) k32.DeleteProcThreadAttributeList(list);
    if (values !== 0n) k32.LocalFree(values);
    k32.LocalFree(list);
  };
  try {
    if (values === 0n) throw lastError(k32, "LocalAlloc");
    k32.CopyToNative(values, packHandles(handles), bytes);
    if (k32.InitializeProcThreadAttributeList(list, 1, 0, size) === 0) throw lastError(k32, "InitializeProcThreadAttributeList");
    initialised = true;
    if (k32.UpdateProcThreadAttribute(list, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, values, bytes, 0n, 0n) === 0) {
      throw lastError(k32, "UpdateProcThreadAttribute");
    }
  } catch (e) {
    release();
    throw e;
  }
  return { list, release };
}

/** Logs the job account on (batch logon: no SERVICE SID, no SeCreateGlobalPrivilege); the password buffer is wiped after. */
function logon(win32: Win32, account: JobAccount): bigint {
  const password = wideString(account.password);
  const out = handleOut();
  try {
    const ok = win32.advapi32.LogonUserW(wideString(account.user), wideString(account.domain), password, LOGON32_LOGON_BATCH, LOGON32_PROVIDER_DEFAULT, out);
    if (ok === 0) throw new SpawnAsUserError(`cannot log on as "${account.user}": ${lastError(win32.kernel32, "LogonUserW").message}`);
  } finally {
    password.fill(0);
  }
  return readHandleOut(out);
}

/** Starts the job as spec.account inside its Job Object; see the top of this file. */
export async function spawnAsUser(spec: SpawnAsUserSpec, bindings: SpawnAsUserBindings): Promise<UserProcess> {
  const k32 = bindings.win32.kernel32;
  // Everything that can be refused without touching the OS is checked first.
  let commandLine: Uint8Array<ArrayBuffer>, envBlock: Uint8Array<ArrayBuffer>, cwd: Uint8Array<ArrayBuffer>, name: string;
  try {
    commandLine = wideString(windowsCommandLine(spec.argv)); // writable: CreateProcessW may modify it
    envBlock = environmentBlock(spec.env);
    cwd = wideString(spec.cwd);
    name = jobObjectName(spec.attemptId);
  } catch (e) {
    throw new SpawnAsUserError(e instanceof Error ? e.message : String(e));
  }

  let job: JobObject;
  try {
    job = JobObject.create(k32, name);
  } catch (e) {
    throw new SpawnAsUserError(`cannot create the job object: ${e instanceof Error ? e.message : String(e)}`);
  }
  const toClose: bigint[] = [];
  let desktop = 0n;
  let releaseList = () => {};
  let processHandle = 0n;
  let pid = 0;
  try {
    const token = logon(bindings.win32, spec.account);
    toClose.push(token);
    let trustee: string;
    try {
      trustee = `*${logonSid(k32, bindings.win32.advapi32, token)}`;
    } catch {
      trustee = spec.account.user; // still keeps the job out of the state folder; only cross-attempt isolation is lost
    }
    await grantWorkFolder(spec.cwd, trustee, bindings.run ?? runProgram);

    // From here to the end of the try block nothing awaits: the inheritable handles exist
    // only while no other code of this process can start a child that would inherit them
    // (Deno.Command children do not use a handle list), and the job itself gets only
    // these three (PROC_THREAD_ATTRIBUTE_HANDLE_LIST).
    const stdin = openInheritable(k32, "NUL", GENERIC_READ, OPEN_EXISTING);
    toClose.push(stdin);
    const stdout = openInheritable(k32, spec.stdoutPath, GENERIC_WRITE, CREATE_ALWAYS);
    toClose.push(stdout);
    const stderr = openInheritable(k32, spec.stderrPath, GENERIC_WRITE, CREATE_ALWAYS);
    toClose.push(stderr);
    // lpDesktop = "" (an empty string in native memory): Windows gives the new logon
    // session its own window station and desktop, which it can open; inheriting the
    // service's (NULL) makes user32 initialisation fail (0xC0000142) for an account
    // without rights on it.
    desktop = k32.LocalAlloc(LMEM_FIXED | LMEM_ZEROINIT, 2n);
    if (desktop === 0n) throw lastError(k32, "LocalAlloc");
    const inherit = handleListAttribute(k32, [stdin, stdout, stderr]);
    releaseList = inherit.release;
    const startup = packStartupInfoEx({ desktop, flags: STARTF_USESTDHANDLES, stdInput: stdin, stdOutput: stdout, stdError: stderr }, inherit.list);
    const info = new Uint8Array(PROCESS_INFORMATION_SIZE);
    if (k32.CreateProcessAsUserW(token, null, commandLine, null, null, 1, CREATION_FLAGS, envBlock, cwd, startup, info) === 0) {
      throw new SpawnAsUserError(`cannot start "${spec.argv[0]}": ${lastError(k32, "CreateProcessAsUserW").message}`);
    }
    const pi = readProcessInformation(info);
    processHandle = pi.process;
    try {
      job.assign(pi.process);
      if (k32.ResumeThread(pi.thread) === RESUME_FAILED) throw lastError(k32, "ResumeThread");
    } catch (e) {
      // Still suspended (or not yet in the job): it never ran a line of the job's code.
      k32.TerminateProcess(pi.process, 1);
      throw e;
    } finally {
      closeHandle(k32, pi.thread);
    }
    pid = pi.processId;
  } catch (e) {
    if (processHandle !== 0n) closeHandle(k32, processHandle);
    job.close();
    throw e instanceof SpawnAsUserError ? e : new SpawnAsUserError(`cannot start "${spec.argv[0]}": ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    for (const h of toClose) closeHandle(k32, h);
    if (desktop !== 0n) k32.LocalFree(desktop);
    releaseList();
  }

  bindings.jobs.add(pid, job);
  return { pid, status: waitForExit(k32, processHandle) };
}

/** Waits (off the event loop) for the process to exit, reads its exit code, closes its handle. */
async function waitForExit(k32: Kernel32, process: bigint): Promise<UserProcessStatus> {
  try {
    const r = await k32.WaitForSingleObject(process, INFINITE);
    if (r !== WAIT_OBJECT_0) throw lastError(k32, "WaitForSingleObject");
    const out = dwordOut();
    if (k32.GetExitCodeProcess(process, out) === 0) throw lastError(k32, "GetExitCodeProcess");
    // A DWORD: NTSTATUS exits such as 0xC0000005 (access violation) stay unsigned.
    const code = readDwordOut(out);
    return { success: code === 0, code, signal: null };
  } finally {
    closeHandle(k32, process);
  }
}
