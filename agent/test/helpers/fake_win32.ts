// A recording stand-in for the Win32 bindings (the OS seam's injected `Win32` object):
// every call is logged with its arguments, every handle it hands out is tracked until
// CloseHandle, and any function can be made to fail. Only the Deno.dlopen loader itself is
// not exercised through this; see docs/WINDOWS-CHECKLIST.md.
import type { Advapi32, Kernel32, Win32 } from "../../src/os/windows/kernel32.ts";
import { readWideString } from "../../src/os/windows/wide_string.ts";
import { writeDwordOut, writeHandleOut, writeProcessInformation } from "../../src/os/windows/structs.ts";

export interface Call {
  fn: string;
  args: unknown[];
}

type Impl = (...args: never[]) => unknown;

export class FakeWin32 implements Win32 {
  readonly calls: Call[] = [];
  /** Handles handed out and not yet closed, with what they are. */
  readonly openHandles = new Map<bigint, string>();
  /** Named job objects that exist, by name -> handle of their first opener. */
  readonly namedJobs = new Map<string, bigint>();
  /** ActiveProcesses that QueryInformationJobObject reports, per job handle (default 0). */
  readonly activeByJob = new Map<bigint, number>();
  /** Exit code GetExitCodeProcess reports. */
  exitCode = 0;
  /** LocalAlloc'd blocks not yet freed. */
  readonly allocated = new Set<bigint>();
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
      QueryInformationJobObject: (job: bigint, _cls: number, info: Uint8Array) => {
        new DataView(info.buffer, info.byteOffset).setUint32(40, this.activeByJob.get(job) ?? 0, true);
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
      SetHandleInformation: () => 1,
      LocalAlloc: () => {
        const a = 0x7000_0000n + this.nextHandle++;
        this.allocated.add(a);
        return a;
      },
      LocalFree: (a: bigint) => {
        if (!this.allocated.delete(a)) throw new Error(`LocalFree of a block that is not allocated: ${a}`);
        return 0n;
      },
    };
    const a: Record<string, Impl> = {
      LogonUserW: (...args: unknown[]) => {
        writeHandleOut(args[5] as Uint8Array, this.handle("token"));
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
        this.calls.push({ fn, args });
        return (this.overrides.get(fn) ?? impl)(...args);
      };
    }
    return out;
  }
}
