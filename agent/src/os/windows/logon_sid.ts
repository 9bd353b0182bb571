// The logon SID of a LogonUserW token (S-1-5-5-x-y): unique to that one logon session,
// so an ACL granted to it admits this attempt's processes and no other job's, even one
// running as the same account. GetTokenInformation(TokenLogonSid) answers a TOKEN_GROUPS
// whose Sid member points into the answer itself, so the answer is written to LocalAlloc
// memory (whose address we know) and copied out, and the pointer becomes an offset.
import { type Advapi32, type Kernel32, lastError } from "./kernel32.ts";
import { dwordOut, readDwordOut } from "./structs.ts";
import { LMEM_FIXED } from "./win32_constants.ts";

/** TOKEN_INFORMATION_CLASS TokenLogonSid (winnt.h). */
export const TokenLogonSid = 28;

/** Renders a binary SID (Revision, SubAuthorityCount, 6-byte big-endian authority, LE sub-authorities) as S-R-A-S1-S2... */
export function sidToString(sid: Uint8Array): string {
  if (sid.byteLength < 8) throw new RangeError("SID is shorter than its header");
  const view = new DataView(sid.buffer, sid.byteOffset, sid.byteLength);
  const revision = view.getUint8(0);
  const count = view.getUint8(1);
  if (sid.byteLength < 8 + 4 * count) throw new RangeError(`SID says ${count} sub-authorities but has ${sid.byteLength} bytes`);
  let authority = 0;
  for (let i = 2; i < 8; i++) authority = authority * 256 + view.getUint8(i);
  const subs: number[] = [];
  for (let i = 0; i < count; i++) subs.push(view.getUint32(8 + 4 * i, true));
  return [`S-${revision}-${authority}`, ...subs].join("-");
}

/**
 * TOKEN_GROUPS (x64): GroupCount DWORD at 0, 4 bytes padding, then SID_AND_ATTRIBUTES
 * entries of 16 bytes (Sid PSID at +0, Attributes DWORD at +8, 4 bytes padding). `base` is
 * the native address the bytes were copied from, to turn the Sid pointer into an offset.
 */
export function firstGroupSid(groups: Uint8Array, base: bigint): string {
  const view = new DataView(groups.buffer, groups.byteOffset, groups.byteLength);
  if (groups.byteLength < 24 || view.getUint32(0, true) < 1) throw new RangeError("TOKEN_GROUPS holds no group");
  const offset = view.getBigUint64(8, true) - base;
  if (offset < 24n || offset >= BigInt(groups.byteLength)) throw new RangeError("TOKEN_GROUPS Sid points outside the answer");
  return sidToString(groups.subarray(Number(offset)));
}

/** The logon SID of `token` as a string. */
export function logonSid(k32: Kernel32, advapi32: Advapi32, token: bigint): string {
  const needed = dwordOut();
  // The first call only asks for the size (it fails with ERROR_INSUFFICIENT_BUFFER).
  advapi32.GetTokenInformation(token, TokenLogonSid, 0n, 0, needed);
  const size = readDwordOut(needed);
  if (size === 0) throw lastError(k32, "GetTokenInformation");
  const mem = k32.LocalAlloc(LMEM_FIXED, BigInt(size));
  if (mem === 0n) throw lastError(k32, "LocalAlloc");
  try {
    if (advapi32.GetTokenInformation(token, TokenLogonSid, mem, size, needed) === 0) throw lastError(k32, "GetTokenInformation");
    const copy = new Uint8Array(size);
    k32.RtlMoveMemory(copy, mem, BigInt(size));
    return firstGroupSid(copy, mem);
  } finally {
    k32.LocalFree(mem);
  }
}
