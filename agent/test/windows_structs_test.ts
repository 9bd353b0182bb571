// x64 byte layouts of the structs passed to CreateProcessAsUserW and CreateFileW: each
// field checked at its offset, so a shifted field fails here rather than on a lab PC.
import { assertEquals } from "./helpers/assert.ts";
import {
  packHandles,
  packSecurityAttributes,
  packStartupInfo,
  packStartupInfoEx,
  PROCESS_INFORMATION_SIZE,
  readProcessInformation,
  SECURITY_ATTRIBUTES_SIZE,
  STARTUPINFOEXW_SIZE,
  STARTUPINFOW_SIZE,
  writeProcessInformation,
} from "../src/os/windows/structs.ts";
import { readWideString, wideString } from "../src/os/windows/wide_string.ts";

Deno.test("STARTUPINFOW is 104 bytes: cb first, lpDesktop at 16, dwFlags at 60, the three std handles at 80, 88 and 96", () => {
  const b = packStartupInfo({ desktop: 0x1122_3344_5566_7788n, flags: 0x100, stdInput: 0xa1n, stdOutput: 0xb2n, stdError: 0xffff_0000_0000_00c3n });
  const v = new DataView(b.buffer);
  assertEquals(b.byteLength, STARTUPINFOW_SIZE);
  assertEquals(STARTUPINFOW_SIZE, 104);
  assertEquals(v.getUint32(0, true), 104);
  assertEquals(v.getBigUint64(8, true), 0n, "lpReserved");
  assertEquals(v.getBigUint64(16, true), 0x1122_3344_5566_7788n, "lpDesktop");
  assertEquals(v.getBigUint64(24, true), 0n, "lpTitle");
  assertEquals(v.getUint32(60, true), 0x100, "dwFlags = STARTF_USESTDHANDLES");
  assertEquals(v.getUint16(64, true), 0, "wShowWindow");
  assertEquals(v.getBigUint64(72, true), 0n, "lpReserved2");
  assertEquals(v.getBigUint64(80, true), 0xa1n, "hStdInput");
  assertEquals(v.getBigUint64(88, true), 0xb2n, "hStdOutput");
  assertEquals(v.getBigUint64(96, true), 0xffff_0000_0000_00c3n, "hStdError keeps all 64 bits");
  const set = new Set([0, 1, 2, 3, ...range(16, 24), ...range(60, 64), ...range(80, 104)]);
  for (let i = 0; i < b.byteLength; i++) if (!set.has(i)) assertEquals(b[i], 0, `byte ${i} is zero`);
});

Deno.test("STARTUPINFOEXW is 112 bytes: the same STARTUPINFOW with cb = 112, then lpAttributeList at 104", () => {
  const info = { desktop: 0x10n, flags: 0x100, stdInput: 0xa1n, stdOutput: 0xb2n, stdError: 0xc3n };
  const ex = packStartupInfoEx(info, 0x0000_7ff6_1234_5678n);
  const v = new DataView(ex.buffer);
  assertEquals(ex.byteLength, STARTUPINFOEXW_SIZE);
  assertEquals(v.getUint32(0, true), 112);
  assertEquals([...ex.subarray(4, 104)], [...packStartupInfo(info).subarray(4, 104)], "fields as in STARTUPINFOW");
  assertEquals(v.getBigUint64(104, true), 0x0000_7ff6_1234_5678n);
});

Deno.test("a handle array is 8 little-endian bytes per handle", () => {
  const b = packHandles([0x1n, 0x0102_0304_0506_0708n]);
  assertEquals([...b], [1, 0, 0, 0, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]);
});

Deno.test("PROCESS_INFORMATION is 24 bytes: hProcess at 0, hThread at 8, dwProcessId at 16, dwThreadId at 20", () => {
  const b = new Uint8Array(PROCESS_INFORMATION_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, 0x1234n, true);
  v.setBigUint64(8, 0x5678n, true);
  v.setUint32(16, 4242, true);
  v.setUint32(20, 77, true);
  assertEquals(PROCESS_INFORMATION_SIZE, 24);
  assertEquals(readProcessInformation(b), { process: 0x1234n, thread: 0x5678n, processId: 4242, threadId: 77 });
  const w = new Uint8Array(24);
  writeProcessInformation(w, readProcessInformation(b));
  assertEquals([...w], [...b]);
});

Deno.test("SECURITY_ATTRIBUTES is 24 bytes: nLength at 0, a NULL descriptor at 8, bInheritHandle at 16", () => {
  const b = packSecurityAttributes(true);
  const v = new DataView(b.buffer);
  assertEquals(b.byteLength, SECURITY_ATTRIBUTES_SIZE);
  assertEquals(v.getUint32(0, true), 24);
  assertEquals(v.getBigUint64(8, true), 0n);
  assertEquals(v.getUint32(16, true), 1);
  assertEquals(new DataView(packSecurityAttributes(false).buffer).getUint32(16, true), 0);
});

Deno.test("wide strings are UTF-16LE with a terminating NUL, and a NUL inside is refused", () => {
  const b = wideString("C:\\训");
  assertEquals([...b], [0x43, 0, 0x3a, 0, 0x5c, 0, 0xad, 0x8b, 0, 0]);
  assertEquals(readWideString(b), "C:\\训");
  let threw = false;
  try {
    wideString("a\0b");
  } catch {
    threw = true;
  }
  assertEquals(threw, true);
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
