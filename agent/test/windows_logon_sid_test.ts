// The logon SID read from a token: SID rendering, the TOKEN_GROUPS pointer-to-offset
// step, and the GetTokenInformation / LocalAlloc / RtlMoveMemory sequence on fake bindings.
import { assertEquals, assertThrows } from "./helpers/assert.ts";
import { FAKE_LOGON_SID, FakeWin32, tokenGroups } from "./helpers/fake_win32.ts";
import { firstGroupSid, logonSid, sidToString, TokenLogonSid } from "../src/os/windows/logon_sid.ts";

const LOGON_SID = FAKE_LOGON_SID;

Deno.test("a binary SID renders as S-revision-authority-subauthorities", () => {
  assertEquals(sidToString(LOGON_SID), "S-1-5-5-0-123456");
  assertEquals(sidToString(new Uint8Array([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0])), "S-1-5-18"); // LocalSystem
  assertThrows(() => sidToString(new Uint8Array([1, 4, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0])), RangeError);
});

Deno.test("TOKEN_GROUPS's Sid pointer is turned into an offset from the address the bytes came from", () => {
  assertEquals(firstGroupSid(tokenGroups(0x7ff0_1000n, LOGON_SID), 0x7ff0_1000n), "S-1-5-5-0-123456");
  assertThrows(() => firstGroupSid(tokenGroups(0x9000n, LOGON_SID), 0x7000n), RangeError, "outside");
});

Deno.test("logonSid asks the size, reads the answer into LocalAlloc memory, copies it out and frees it", () => {
  const fake = new FakeWin32();
  assertEquals(logonSid(fake.kernel32, fake.advapi32, 0x42n), "S-1-5-5-0-123456");
  assertEquals(fake.sequence(), ["GetTokenInformation", "LocalAlloc", "GetTokenInformation", "RtlMoveMemory", "LocalFree"]);
  const [token, cls, info] = fake.calls[2]!.args as [bigint, number, bigint];
  assertEquals([token, cls], [0x42n, TokenLogonSid]);
  assertEquals(fake.call("RtlMoveMemory").args[1], info, "copied from the block the answer was written to");
  assertEquals(fake.allocated.size, 0, "the native block is freed");
});

Deno.test("logonSid frees its block when the second GetTokenInformation fails", () => {
  const fake = new FakeWin32();
  fake.on("GetTokenInformation", (_t: bigint, _c: number, _i: bigint, _l: number, needed: Uint8Array) => {
    new DataView(needed.buffer).setUint32(0, 64, true);
    return 0; // the size is known, but the real read fails too
  });
  assertThrows(() => logonSid(fake.kernel32, fake.advapi32, 0x42n), Error, "GetTokenInformation");
  assertEquals(fake.allocated.size, 0);
});
