// The kernel32.dll and advapi32.dll functions the agent calls through Deno FFI, declared
// once. `Win32` is the injected bindings object: the real one comes from loadWin32()
// (Deno.dlopen, Windows only, the one part only a real Windows box can test); tests pass
// a recording fake with the same shape (agent/test/helpers/fake_win32.ts).
//
// Conventions, so every caller reads the same: HANDLE and other pointer-sized values are
// "usize" (bigint in JS, no Deno pointer objects, which a path-scoped --allow-ffi
// refuses to create); strings and structs are "buffer" (a Uint8Array the native side sees
// as a pointer; null is NULL); BOOL is "i32". WaitForSingleObject is `nonblocking`, so a
// wait on a job that runs for days occupies a worker thread, not the event loop.

/** Where the libraries are loaded from: absolute, so a path-scoped --allow-ffi matches and no DLL is searched for in the work folder. */
export const KERNEL32_PATH = "C:\\Windows\\System32\\kernel32.dll";
/** advapi32.dll's absolute path (LogonUserW). */
export const ADVAPI32_PATH = "C:\\Windows\\System32\\advapi32.dll";

/** kernel32.dll symbols (CreateProcessAsUserW lives in kernel32 since Windows 8). */
export const KERNEL32_SYMBOLS = {
  CreateJobObjectW: { parameters: ["buffer", "buffer"], result: "usize" },
  OpenJobObjectW: { parameters: ["u32", "i32", "buffer"], result: "usize" },
  SetInformationJobObject: { parameters: ["usize", "u32", "buffer", "u32"], result: "i32" },
  QueryInformationJobObject: { parameters: ["usize", "u32", "buffer", "u32", "buffer"], result: "i32" },
  AssignProcessToJobObject: { parameters: ["usize", "usize"], result: "i32" },
  TerminateJobObject: { parameters: ["usize", "u32"], result: "i32" },
  OpenProcess: { parameters: ["u32", "i32", "u32"], result: "usize" },
  TerminateProcess: { parameters: ["usize", "u32"], result: "i32" },
  CloseHandle: { parameters: ["usize"], result: "i32" },
  GetLastError: { parameters: [], result: "u32" },
  CreateProcessAsUserW: {
    // hToken, lpApplicationName, lpCommandLine, lpProcessAttributes, lpThreadAttributes,
    // bInheritHandles, dwCreationFlags, lpEnvironment, lpCurrentDirectory, lpStartupInfo,
    // lpProcessInformation
    parameters: ["usize", "buffer", "buffer", "buffer", "buffer", "i32", "u32", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  ResumeThread: { parameters: ["usize"], result: "u32" },
  WaitForSingleObject: { parameters: ["usize", "u32"], result: "u32", nonblocking: true },
  GetExitCodeProcess: { parameters: ["usize", "buffer"], result: "i32" },
  // lpFileName, dwDesiredAccess, dwShareMode, lpSecurityAttributes, dwCreationDisposition,
  // dwFlagsAndAttributes, hTemplateFile
  CreateFileW: { parameters: ["buffer", "u32", "u32", "buffer", "u32", "u32", "usize"], result: "usize" },
  LocalAlloc: { parameters: ["u32", "usize"], result: "usize" },
  LocalFree: { parameters: ["usize"], result: "usize" },
  // Destination, source address, length: copies native memory into a JS buffer (for
  // GetTokenInformation's answer) without Deno.UnsafePointerView, which needs unscoped FFI.
  RtlMoveMemory: { parameters: ["buffer", "usize", "usize"], result: "void" },
  // The same function the other way round: a JS buffer into native memory.
  CopyToNative: { name: "RtlMoveMemory", parameters: ["usize", "buffer", "usize"], result: "void" },
  // lpAttributeList (native memory, or 0 to ask the size), dwAttributeCount, dwFlags, lpSize
  InitializeProcThreadAttributeList: { parameters: ["usize", "u32", "u32", "buffer"], result: "i32" },
  // lpAttributeList, dwFlags, Attribute, lpValue (native memory), cbSize, lpPreviousValue, lpReturnSize
  UpdateProcThreadAttribute: { parameters: ["usize", "u32", "usize", "usize", "usize", "usize", "usize"], result: "i32" },
  DeleteProcThreadAttributeList: { parameters: ["usize"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** advapi32.dll symbols. */
export const ADVAPI32_SYMBOLS = {
  // lpszUsername, lpszDomain, lpszPassword, dwLogonType, dwLogonProvider, phToken
  LogonUserW: { parameters: ["buffer", "buffer", "buffer", "u32", "u32", "buffer"], result: "i32" },
  // TokenHandle, TokenInformationClass, TokenInformation (native memory from LocalAlloc:
  // the answer holds pointers into itself), TokenInformationLength, ReturnLength
  GetTokenInformation: { parameters: ["usize", "u32", "usize", "u32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The kernel32 functions, exactly as Deno.dlopen types them. */
export type Kernel32 = Deno.DynamicLibrary<typeof KERNEL32_SYMBOLS>["symbols"];
/** The advapi32 functions, exactly as Deno.dlopen types them. */
export type Advapi32 = Deno.DynamicLibrary<typeof ADVAPI32_SYMBOLS>["symbols"];

/** The injected bindings: everything Win32 the Windows code touches. */
export interface Win32 {
  kernel32: Kernel32;
  advapi32: Advapi32;
}

/** loadWin32's answer: the bindings, or why there are none (not Windows, no --allow-ffi). */
export type Win32Load = { ok: true; win32: Win32 } | { ok: false; reason: string };

/**
 * Opens kernel32.dll and advapi32.dll by absolute path. Never throws: off Windows, or
 * when the agent runs without --allow-ffi for these two paths, it says why instead, and
 * the callers fall back (taskkill /T) with a warning.
 */
export function loadWin32(): Win32Load {
  if (Deno.build.os !== "windows") return { ok: false, reason: `not Windows (${Deno.build.os})` };
  let kernel32: Deno.DynamicLibrary<typeof KERNEL32_SYMBOLS> | null = null;
  try {
    kernel32 = Deno.dlopen(KERNEL32_PATH, KERNEL32_SYMBOLS);
    const advapi32 = Deno.dlopen(ADVAPI32_PATH, ADVAPI32_SYMBOLS);
    // Both stay open for the life of the process: the agent keeps using them until it exits.
    return { ok: true, win32: { kernel32: kernel32.symbols, advapi32: advapi32.symbols } };
  } catch (e) {
    kernel32?.close();
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** A failed Win32 call, with GetLastError's code (best effort: see lastError). */
export class Win32Error extends Error {
  override name = "Win32Error";
  constructor(readonly fn: string, readonly code: number) {
    super(`${fn} failed: Win32 error ${code}`);
  }
}

/**
 * GetLastError right after a failed call. Best effort: between two FFI calls the Deno
 * runtime runs its own code, which may itself set the thread's last error, so the code is
 * for the log, never for a decision.
 */
export function lastError(k32: Kernel32, fn: string): Win32Error {
  return new Win32Error(fn, k32.GetLastError());
}

/** Closes a handle, ignoring 0 and INVALID_HANDLE_VALUE; never throws (cleanup paths call it). */
export function closeHandle(k32: Kernel32, handle: bigint): void {
  if (handle === 0n || handle === 0xffff_ffff_ffff_ffffn) return;
  k32.CloseHandle(handle);
}
