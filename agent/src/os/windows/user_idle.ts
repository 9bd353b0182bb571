// How long the user of this desktop session has not touched keyboard or mouse, from
// GetLastInputInfo (user32.dll). It only sees the session it runs in, which is why the
// agent (a service in session 0) cannot call it for the user, and a reporter started in
// each logon session does (docs/decisions/0034-console-activity.md). Bindings are injected
// like kernel32.ts's, so tests pass a fake; only Deno.dlopen itself needs a real Windows.

/** user32.dll's absolute path, so a path-scoped --allow-ffi matches. */
export const USER32_PATH = "C:\\Windows\\System32\\user32.dll";
/** kernel32.dll, for GetTickCount (the clock LASTINPUTINFO.dwTime is read on). */
export const IDLE_KERNEL32_PATH = "C:\\Windows\\System32\\kernel32.dll";

/** The user32 function: BOOL GetLastInputInfo(PLASTINPUTINFO). */
export const USER32_IDLE_SYMBOLS = {
  GetLastInputInfo: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
/** The kernel32 function: DWORD GetTickCount(void). */
export const KERNEL32_IDLE_SYMBOLS = {
  GetTickCount: { parameters: [], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The two functions, as Deno.dlopen types them. */
export interface IdleWin32 {
  user32: Deno.DynamicLibrary<typeof USER32_IDLE_SYMBOLS>["symbols"];
  kernel32: Deno.DynamicLibrary<typeof KERNEL32_IDLE_SYMBOLS>["symbols"];
}

/** LASTINPUTINFO is {UINT cbSize; DWORD dwTime}: 8 bytes, cbSize must be set before the call. */
export const LASTINPUTINFO_SIZE = 8;

/** Milliseconds since the session's last input; throws when GetLastInputInfo fails. */
export function userIdleMs(w: IdleWin32): number {
  const info = new Uint8Array(LASTINPUTINFO_SIZE);
  const view = new DataView(info.buffer);
  view.setUint32(0, LASTINPUTINFO_SIZE, true);
  if (w.user32.GetLastInputInfo(info) === 0) throw new Error("GetLastInputInfo failed");
  const last = view.getUint32(4, true);
  const now = w.kernel32.GetTickCount();
  // Both are 32-bit tick counts that wrap every 49.7 days: the difference, modulo 2^32, is right across a wrap.
  return ((now - last) >>> 0);
}

/** Opens both libraries by absolute path; null off Windows or without --allow-ffi for them. */
export function loadIdleWin32(): IdleWin32 | null {
  if (Deno.build.os !== "windows") return null;
  try {
    const user32 = Deno.dlopen(USER32_PATH, USER32_IDLE_SYMBOLS).symbols;
    const kernel32 = Deno.dlopen(IDLE_KERNEL32_PATH, KERNEL32_IDLE_SYMBOLS).symbols;
    return { user32, kernel32 };
  } catch {
    return null;
  }
}
