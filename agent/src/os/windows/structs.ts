// Byte layouts of the Win32 structs the agent passes through FFI, for x64 (the only
// target: `deno compile --target x86_64-pc-windows-msvc`). Deno's "buffer" parameters
// hand the native side a pointer to these bytes, so the layout must match the C headers
// byte for byte: natural alignment, pointers and SIZE_T 8 bytes, DWORD/BOOL 4, WORD 2,
// little-endian. Handles are carried as bigint values (a HANDLE is pointer-sized), never
// as Deno pointer objects: making one needs unscoped --allow-ffi (see the ADR 0010 notes).
//
// Pointer members (lpDesktop...) are addresses of native memory the caller allocated with
// LocalAlloc, for the same reason: Deno.UnsafePointer.of is refused under a path-scoped
// --allow-ffi, so no JS buffer's address is ever taken.

const u64 = (v: DataView, off: number, value: bigint) => v.setBigUint64(off, value, true);
const u32 = (v: DataView, off: number, value: number) => v.setUint32(off, value >>> 0, true);
const u16 = (v: DataView, off: number, value: number) => v.setUint16(off, value, true);

function structBuffer(size: number): { bytes: Uint8Array<ArrayBuffer>; view: DataView } {
  const bytes = new Uint8Array(size);
  return { bytes, view: new DataView(bytes.buffer) };
}

/**
 * JOBOBJECT_EXTENDED_LIMIT_INFORMATION (x64, 144 bytes); only LimitFlags is set, the rest
 * stays zero (no other limit).
 *
 *   offset size  field
 *        0   64  BasicLimitInformation (JOBOBJECT_BASIC_LIMIT_INFORMATION)
 *        0    8    PerProcessUserTimeLimit   LARGE_INTEGER
 *        8    8    PerJobUserTimeLimit       LARGE_INTEGER
 *       16    4    LimitFlags                DWORD
 *       20    4    (padding: SIZE_T aligns to 8)
 *       24    8    MinimumWorkingSetSize     SIZE_T
 *       32    8    MaximumWorkingSetSize     SIZE_T
 *       40    4    ActiveProcessLimit        DWORD
 *       44    4    (padding)
 *       48    8    Affinity                  ULONG_PTR
 *       56    4    PriorityClass             DWORD
 *       60    4    SchedulingClass           DWORD
 *       64   48  IoInfo (IO_COUNTERS: six ULONGLONG counters)
 *      112    8  ProcessMemoryLimit          SIZE_T
 *      120    8  JobMemoryLimit              SIZE_T
 *      128    8  PeakProcessMemoryUsed       SIZE_T
 *      136    8  PeakJobMemoryUsed           SIZE_T
 */
export const JOBOBJECT_EXTENDED_LIMIT_INFORMATION_SIZE = 144;
export const LIMIT_FLAGS_OFFSET = 16;

/** Packs a JOBOBJECT_EXTENDED_LIMIT_INFORMATION with the given LimitFlags. */
export function packExtendedLimitInformation(limitFlags: number): Uint8Array<ArrayBuffer> {
  const { bytes, view } = structBuffer(JOBOBJECT_EXTENDED_LIMIT_INFORMATION_SIZE);
  u32(view, LIMIT_FLAGS_OFFSET, limitFlags);
  return bytes;
}

/**
 * JOBOBJECT_BASIC_ACCOUNTING_INFORMATION (x64, 48 bytes), read back from
 * QueryInformationJobObject to learn how many processes a job still has.
 *
 *   offset size  field
 *        0    8  TotalUserTime               LARGE_INTEGER
 *        8    8  TotalKernelTime             LARGE_INTEGER
 *       16    8  ThisPeriodTotalUserTime     LARGE_INTEGER
 *       24    8  ThisPeriodTotalKernelTime   LARGE_INTEGER
 *       32    4  TotalPageFaultCount         DWORD
 *       36    4  TotalProcesses              DWORD
 *       40    4  ActiveProcesses             DWORD
 *       44    4  TotalTerminatedProcesses    DWORD
 */
export const JOBOBJECT_BASIC_ACCOUNTING_INFORMATION_SIZE = 48;

/** The ActiveProcesses and TotalProcesses counts of a JOBOBJECT_BASIC_ACCOUNTING_INFORMATION. */
export function readAccountingInformation(bytes: Uint8Array): { activeProcesses: number; totalProcesses: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { totalProcesses: view.getUint32(36, true), activeProcesses: view.getUint32(40, true) };
}

/**
 * JOBOBJECT_BASIC_PROCESS_ID_LIST (x64), read back from QueryInformationJobObject to learn
 * which processes a job holds (their GPU use is the job's own, not someone else's).
 *
 *   offset size  field
 *        0    4  NumberOfAssignedProcesses   DWORD
 *        4    4  NumberOfProcessIdsInList    DWORD
 *        8  8*n  ProcessIdList               ULONG_PTR[n]
 */
export const JOB_PROCESS_ID_LIST_CAPACITY = 1024;
export const JOBOBJECT_BASIC_PROCESS_ID_LIST_SIZE = 8 + 8 * JOB_PROCESS_ID_LIST_CAPACITY;

/** The pids listed in a JOBOBJECT_BASIC_PROCESS_ID_LIST. */
export function readProcessIdList(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.min(view.getUint32(4, true), Math.floor((bytes.byteLength - 8) / 8));
  const pids: number[] = [];
  for (let i = 0; i < n; i++) pids.push(Number(view.getBigUint64(8 + 8 * i, true)));
  return pids;
}

/**
 * STARTUPINFOW (x64, 104 bytes).
 *
 *   offset size  field
 *        0    4  cb                DWORD (= 104)
 *        4    4  (padding: pointers align to 8)
 *        8    8  lpReserved        LPWSTR
 *       16    8  lpDesktop         LPWSTR
 *       24    8  lpTitle           LPWSTR
 *       32    4  dwX               DWORD
 *       36    4  dwY               DWORD
 *       40    4  dwXSize           DWORD
 *       44    4  dwYSize           DWORD
 *       48    4  dwXCountChars     DWORD
 *       52    4  dwYCountChars     DWORD
 *       56    4  dwFillAttribute   DWORD
 *       60    4  dwFlags           DWORD
 *       64    2  wShowWindow       WORD
 *       66    2  cbReserved2       WORD
 *       68    4  (padding)
 *       72    8  lpReserved2       LPBYTE
 *       80    8  hStdInput         HANDLE
 *       88    8  hStdOutput        HANDLE
 *       96    8  hStdError         HANDLE
 */
export const STARTUPINFOW_SIZE = 104;

export interface StartupInfo {
  /** Address of a native wide string naming "winsta\desktop"; 0n for NULL (inherit the agent's). */
  desktop: bigint;
  flags: number;
  stdInput: bigint;
  stdOutput: bigint;
  stdError: bigint;
}

/** Packs a STARTUPINFOW. */
export function packStartupInfo(info: StartupInfo): Uint8Array<ArrayBuffer> {
  return packStartup(info, STARTUPINFOW_SIZE);
}

/**
 * STARTUPINFOEXW (x64, 112 bytes): a STARTUPINFOW whose cb says 112, then
 *
 *   offset size  field
 *      104    8  lpAttributeList   LPPROC_THREAD_ATTRIBUTE_LIST (native address)
 */
export const STARTUPINFOEXW_SIZE = 112;

/** Packs a STARTUPINFOEXW (pass EXTENDED_STARTUPINFO_PRESENT to CreateProcess with it). */
export function packStartupInfoEx(info: StartupInfo, attributeList: bigint): Uint8Array<ArrayBuffer> {
  const bytes = packStartup(info, STARTUPINFOEXW_SIZE);
  u64(new DataView(bytes.buffer), 104, attributeList);
  return bytes;
}

function packStartup(info: StartupInfo, size: number): Uint8Array<ArrayBuffer> {
  const { bytes, view } = structBuffer(size);
  u32(view, 0, size);
  u64(view, 16, info.desktop);
  u32(view, 60, info.flags);
  u16(view, 64, 0); // wShowWindow: ignored without STARTF_USESHOWWINDOW
  u64(view, 80, info.stdInput);
  u64(view, 88, info.stdOutput);
  u64(view, 96, info.stdError);
  return bytes;
}

/**
 * PROCESS_INFORMATION (x64, 24 bytes), filled in by CreateProcessAsUserW.
 *
 *   offset size  field
 *        0    8  hProcess     HANDLE
 *        8    8  hThread      HANDLE
 *       16    4  dwProcessId  DWORD
 *       20    4  dwThreadId   DWORD
 */
export const PROCESS_INFORMATION_SIZE = 24;

export interface ProcessInformation {
  process: bigint;
  thread: bigint;
  processId: number;
  threadId: number;
}

/** Reads a PROCESS_INFORMATION. */
export function readProcessInformation(bytes: Uint8Array): ProcessInformation {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    process: view.getBigUint64(0, true),
    thread: view.getBigUint64(8, true),
    processId: view.getUint32(16, true),
    threadId: view.getUint32(20, true),
  };
}

/** Writes a PROCESS_INFORMATION (what CreateProcessAsUserW does; used by test fakes). */
export function writeProcessInformation(bytes: Uint8Array, info: ProcessInformation): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  u64(view, 0, info.process);
  u64(view, 8, info.thread);
  u32(view, 16, info.processId);
  u32(view, 20, info.threadId);
}

/**
 * SECURITY_ATTRIBUTES (x64, 24 bytes), for CreateFileW handles the job may inherit.
 *
 *   offset size  field
 *        0    4  nLength               DWORD (= 24)
 *        4    4  (padding)
 *        8    8  lpSecurityDescriptor  LPVOID (NULL: the default descriptor)
 *       16    4  bInheritHandle        BOOL
 *       20    4  (padding)
 */
export const SECURITY_ATTRIBUTES_SIZE = 24;

/** Packs a SECURITY_ATTRIBUTES with the default security descriptor. */
export function packSecurityAttributes(inheritHandle: boolean): Uint8Array<ArrayBuffer> {
  const { bytes, view } = structBuffer(SECURITY_ATTRIBUTES_SIZE);
  u32(view, 0, SECURITY_ATTRIBUTES_SIZE);
  u32(view, 16, inheritHandle ? 1 : 0);
  return bytes;
}

/** An array of HANDLEs (8 bytes each), e.g. the value of PROC_THREAD_ATTRIBUTE_HANDLE_LIST. */
export function packHandles(handles: readonly bigint[]): Uint8Array<ArrayBuffer> {
  const { bytes, view } = structBuffer(8 * handles.length);
  handles.forEach((h, i) => u64(view, 8 * i, h));
  return bytes;
}

/** An 8-byte out-parameter (PHANDLE, PSIZE_T), read back as bigint. */
export function handleOut(): Uint8Array<ArrayBuffer> {
  return new Uint8Array(8);
}

/** The value a handleOut() buffer holds after the call. */
export function readHandleOut(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

/** Writes a handle into an out-parameter buffer (what the OS does; used by test fakes). */
export function writeHandleOut(bytes: Uint8Array, value: bigint): void {
  new DataView(bytes.buffer, bytes.byteOffset, 8).setBigUint64(0, value, true);
}

/** A 4-byte out-parameter (LPDWORD), e.g. GetExitCodeProcess's exit code. */
export function dwordOut(): Uint8Array<ArrayBuffer> {
  return new Uint8Array(4);
}

/** The value a dwordOut() buffer holds after the call. */
export function readDwordOut(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
}

/** Writes a DWORD into an out-parameter buffer (used by test fakes). */
export function writeDwordOut(bytes: Uint8Array, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, 4).setUint32(0, value >>> 0, true);
}
