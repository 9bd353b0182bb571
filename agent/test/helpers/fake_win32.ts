// A recording stand-in for the Win32 bindings (the OS seam's injected `Win32` object):
// every call is logged with its arguments, every handle it hands out is tracked until
// CloseHandle, and any function can be made to fail. Only the Deno.dlopen loader itself is
// not exercised through this; see docs/WINDOWS-CHECKLIST.md.
import type { Advapi32, Kernel32, Win32 } from "../../src/os/windows/kernel32.ts";
import { readWideString } from "../../src/os/windows/wide_string.ts";
import { writeDwordOut, writeHandleOut, writeProcessInformation } from "../../src/os/windows/structs.ts";

/** S-1-5-5-0-123456 as a binary SID: revision 1, 3 sub-authorities, authority 5 (NT), then 5, 0, 123456. */
export const FAKE_LOGON_SID = new Uint8Array([1, 3, 0, 0, 0, 0, 0, 5, 5, 0, 0, 0, 0, 0, 0, 0, 0x40, 0xe2, 0x01, 0x00]);

/** A TOKEN_GROUPS with one group whose SID follows the array, as it would sit at native address `base`. */
export function tokenGroups(base: bigint, sid: Uint8Array): Uint8Array {
  const b = new Uint8Array(24 + sid.byteLength);
  const v = new DataView(b.buffer);
  v.setUint32(0, 1, true); // GroupCount
  v.setBigUint64(8, base + 24n, true); // Groups[0].Sid -> right after the array
  v.setUint32(16, 0xc0000007, true); // SE_GROUP_LOGON_ID | mandatory | enabled
  b.set(sid, 24);
  return b;
}

export interface Call {
  fn: string;
  args: unknown[];
  /** What the call returned (a Promise for nonblocking ones). */
  result?: unknown;
}

type Impl = (...args: never[]) => unknown;

export class FakeWin32 implements Win32 {
  readonly calls: Call[] = [];
  /** Handles handed out and not yet closed, with what they are. */
  readonly openHandles = new Map<bigint, string>();
  /** Named job objects that exist, by name -> handle of their first opener. */
  readonly namedJobs = new Map<string, bigint>();
  /** Pids that QueryInformationJobObject(JobObjectBasicProcessIdList) lists, per job handle (default none). */
  readonly pidsByJob = new Map<bigint, number[]>();
  /** ActiveProcesses that QueryInformationJobObject reports, per job handle (default 0). */
  readonly activeByJob = new Map<bigint, number>();
  /** Exit code GetExitCodeProcess reports. */
  exitCode = 0;
  /** LocalAlloc'd blocks not yet freed. */
  readonly allocated = new Set<bigint>();
  /** Native memory: the contents of LocalAlloc'd blocks, by address. */
  readonly memory = new Map<bigint, Uint8Array>();
  /** Initialised PROC_THREAD_ATTRIBUTE_LISTs not yet deleted. */
  readonly attributeLists = new Set<bigint>();
  /** What UpdateProcThreadAttribute was given, read from native memory at the time of the call. */
  readonly handleLists: { attribute: bigint; handles: bigint[] }[] = [];
  /** The logon SID GetTokenInformation(TokenLogonSid) reports for every token. */
  logonSid = FAKE_LOGON_SID;
  private nextHandle = 0x100n;
  private nextPid = 4000;
  private readonly overrides = new Map<string, Impl>();
  private waiters: Array<() => void> = [];
  readonly kernel32: Kernel32;
  readonly advapi32: Advapi32;

  constructor() {
    const k: Record<string, Impl> = {
      CreateJobObjectW: (_attrs: BufferSource | null, name: Uint8Array | null) => {
        const h = this.handle("job");
        if (name) this.namedJobs.set(readWideString(name), h);
        return h;
      },
      OpenJobObjectW: (_access: number, _inherit: number, name: Uint8Array) => {
        const existing = this.namedJobs.get(readWideString(name));
        if (existing === undefined) return 0n;
        const h = this.handle("job");
        this.activeByJob.set(h, this.activeByJob.get(existing) ?? 0);
        return h;
      },
      SetInformationJobObject: () => 1,
      QueryInformationJobObject: (job: bigint, cls: number, info: Uint8Array) => {
        const view = new DataView(info.buffer, info.byteOffset);
        if (cls === 3) { // JobObjectBasicProcessIdList
          const pids = this.pidsByJob.get(job) ?? [];
          view.setUint32(0, pids.length, true);
          view.setUint32(4, pids.length, true);
          pids.forEach((pid, i) => view.setBigUint64(8 + 8 * i, BigInt(pid), true));
          return 1;
        }
        view.setUint32(40, this.activeByJob.get(job) ?? 0, true);
        return 1;
      },
      AssignProcessToJobObject: () => 1,
      TerminateJobObject: (job: bigint) => {
        this.activeByJob.set(job, 0);
        return 1;
      },
      OpenProcess: () => this.handle("process"),
      TerminateProcess: () => 1,
      CloseHandle: (h: bigint) => {
        if (!this.openHandles.delete(h)) throw new Error(`CloseHandle of a handle that is not open: ${h}`);
        return 1;
      },
      GetLastError: () => 5,
      CreateProcessAsUserW: (...args: unknown[]) => {
        writeProcessInformation(args[10] as Uint8Array, {
          process: this.handle("process"),
          thread: this.handle("thread"),
          processId: this.nextPid++,
          threadId: 7,
        });
        return 1;
      },
      ResumeThread: () => 1,
      WaitForSingleObject: () => new Promise<number>((resolve) => this.waiters.push(() => resolve(0))),
      GetExitCodeProcess: (_h: bigint, out: Uint8Array) => {
        writeDwordOut(out, this.exitCode);
        return 1;
      },
      CreateFileW: (name: Uint8Array) => this.handle(`file ${readWideString(name)}`),
      CopyToNative: (dest: bigint, src: Uint8Array, len: bigint) => {
        const block = this.memory.get(dest);
        if (!block || Number(len) > block.byteLength) throw new Error(`CopyToNative into memory that is not allocated: ${dest}`);
        block.set(src.subarray(0, Number(len)));
      },
      InitializeProcThreadAttributeList: (list: bigint, count: number, _flags: number, size: Uint8Array) => {
        writeHandleOut(size, 48n * BigInt(count));
        if (list === 0n) return 0; // the size query "fails" with ERROR_INSUFFICIENT_BUFFER
        if (!this.memory.has(list)) throw new Error(`attribute list in memory that is not allocated: ${list}`);
        this.attributeLists.add(list);
        return 1;
      },
      UpdateProcThreadAttribute: (list: bigint, _flags: number, attribute: bigint, value: bigint, size: bigint) => {
        if (!this.attributeLists.has(list)) throw new Error("UpdateProcThreadAttribute on an uninitialised list");
        const block = this.memory.get(value)!.subarray(0, Number(size));
        const v = new DataView(block.buffer, block.byteOffset, block.byteLength);
        this.handleLists.push({ attribute, handles: Array.from({ length: block.byteLength / 8 }, (_, i) => v.getBigUint64(8 * i, true)) });
        return 1;
      },
      DeleteProcThreadAttributeList: (list: bigint) => {
        if (!this.attributeLists.delete(list)) throw new Error("DeleteProcThreadAttributeList of a list that is not initialised");
      },
      LocalAlloc: (_flags: number, size: bigint) => {
        const a = 0x7000_0000n + 0x1000n * this.nextHandle++;
        this.allocated.add(a);
        this.memory.set(a, new Uint8Array(Number(size)));
        return a;
      },
      LocalFree: (a: bigint) => {
        if (!this.allocated.delete(a)) throw new Error(`LocalFree of a block that is not allocated: ${a}`);
        this.memory.delete(a);
        return 0n;
      },
      RtlMoveMemory: (dest: Uint8Array, src: bigint, len: bigint) => {
        const block = this.memory.get(src);
        if (!block || Number(len) > block.byteLength) throw new Error(`RtlMoveMemory from memory that is not allocated: ${src}`);
        dest.set(block.subarray(0, Number(len)));
      },
    };
    const a: Record<string, Impl> = {
      LogonUserW: (...args: unknown[]) => {
        writeHandleOut(args[5] as Uint8Array, this.handle("token"));
        return 1;
      },
      GetTokenInformation: (_token: bigint, _cls: number, info: bigint, len: number, needed: Uint8Array) => {
        const size = 24 + this.logonSid.byteLength;
        writeDwordOut(needed, size);
        const block = this.memory.get(info);
        if (info === 0n || !block || len < size) return 0;
        block.set(tokenGroups(info, this.logonSid));
        return 1;
      },
    };
    this.kernel32 = this.recording(k) as unknown as Kernel32;
    this.advapi32 = this.recording(a) as unknown as Advapi32;
  }

  /** Replaces one function's behaviour (e.g. make it fail with `() => 0`). */
  on(fn: string, impl: Impl): void {
    this.overrides.set(fn, impl);
  }

  /** The names of the calls made, in order (GetLastError left out: it is bookkeeping). */
  sequence(): string[] {
    return this.calls.map((c) => c.fn).filter((f) => f !== "GetLastError");
  }

  /** The first call to `fn`. */
  call(fn: string): Call {
    const c = this.calls.find((x) => x.fn === fn);
    if (!c) throw new Error(`${fn} was not called; calls: ${this.sequence().join(", ")}`);
    return c;
  }

  /** Lets every pending WaitForSingleObject return (the process exited). */
  exitAll(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** How many WaitForSingleObject calls are waiting. */
  get pendingWaits(): number {
    return this.waiters.length;
  }

  private handle(what: string): bigint {
    const h = this.nextHandle++;
    this.openHandles.set(h, what);
    return h;
  }

  private recording(impls: Record<string, Impl>): Record<string, Impl> {
    const out: Record<string, Impl> = {};
    for (const [fn, impl] of Object.entries(impls)) {
      out[fn] = (...args: never[]) => {
        const call: Call = { fn, args };
        this.calls.push(call);
        call.result = (this.overrides.get(fn) ?? impl)(...args);
        return call.result;
      };
    }
    return out;
  }
}
