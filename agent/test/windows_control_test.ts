// The Windows parts of local control, through the OS seam's injected pieces: the control
// files' ACLs (icacls arguments, run through a recording RunProgram) and the idle time
// from GetLastInputInfo (fake user32/kernel32 bindings). Only a real Windows box runs them
// against the real DLLs and icacls (docs/WINDOWS-CHECKLIST.md).
import { icaclsControlFileArgs, restrictWindowsControlFiles } from "../src/os/windows/control_file_acl.ts";
import { type IdleWin32, LASTINPUTINFO_SIZE, userIdleMs } from "../src/os/windows/user_idle.ts";
import { assertEquals, assertThrows } from "./helpers/assert.ts";

function fakeIdle(lastInputTick: number, nowTick: number, ok = true): IdleWin32 & { sizes: number[] } {
  const sizes: number[] = [];
  return {
    sizes,
    user32: {
      GetLastInputInfo: (info: Uint8Array) => {
        const v = new DataView(info.buffer, info.byteOffset);
        sizes.push(v.getUint32(0, true));
        if (!ok) return 0;
        v.setUint32(4, lastInputTick >>> 0, true);
        return 1;
      },
    } as unknown as IdleWin32["user32"],
    kernel32: { GetTickCount: () => nowTick >>> 0 } as unknown as IdleWin32["kernel32"],
  };
}

Deno.test("windows idle: GetLastInputInfo's tick against GetTickCount gives the idle time, right across the 49.7-day wrap", () => {
  const w = fakeIdle(1_000, 61_000);
  assertEquals(userIdleMs(w), 60_000);
  assertEquals(w.sizes, [LASTINPUTINFO_SIZE], "cbSize is set before the call");
  assertEquals(userIdleMs(fakeIdle(2 ** 32 - 5_000, 3_000)), 8_000);
  assertThrows(() => userIdleMs(fakeIdle(0, 0, false)), Error, "GetLastInputInfo failed");
});

Deno.test("windows control files: inheritance cut, SYSTEM and Administrators only; the owner only when allowed; the idle token for console users", async () => {
  assertEquals(icaclsControlFileArgs("C:\\ProgramData\\LabBridge\\control.json", []), [
    "C:\\ProgramData\\LabBridge\\control.json", "/inheritance:r", "/grant:r", "*S-1-5-18:F", "/grant:r", "*S-1-5-32-544:F", "/Q",
  ]);
  const calls: string[][] = [];
  await restrictWindowsControlFiles("C:\\s\\control.json", "C:\\s\\idle-report.json", "LAB\\alice", (program, args) => {
    calls.push([program, ...args]);
    return Promise.resolve({ success: true, code: 0, stderr: "" });
  });
  assertEquals(calls, [
    ["icacls", "C:\\s\\control.json", "/inheritance:r", "/grant:r", "*S-1-5-18:F", "/grant:r", "*S-1-5-32-544:F", "/grant:r", "LAB\\alice:R", "/Q"],
    ["icacls", "C:\\s\\idle-report.json", "/inheritance:r", "/grant:r", "*S-1-5-18:F", "/grant:r", "*S-1-5-32-544:F", "/grant:r", "*S-1-5-4:R", "/Q"],
  ]);
  assertThrows(() => icaclsControlFileArgs("x", ["alice:F /grant Everyone"]), RangeError);
  const failing = restrictWindowsControlFiles("a", "b", null, () => Promise.resolve({ success: false, code: 5, stderr: "Access is denied." }));
  await failing.then(() => { throw new Error("should fail"); }, (e) => assertEquals((e as Error).message, 'icacls could not restrict "a": exit 5: Access is denied.'));
});
