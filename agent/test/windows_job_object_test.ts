// Job Objects through the Win32 seam: the struct bytes handed to SetInformationJobObject,
// the call sequence against recording fake bindings, and the handles left open (none).
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";
import { FakeWin32 } from "./helpers/fake_win32.ts";
import { adoptProcess, endJob, JOB_LIMIT_FLAGS, JobObject, jobObjectName, JobTable } from "../src/os/windows/job_object.ts";
import { loadWin32, Win32Error } from "../src/os/windows/kernel32.ts";
import {
  JOBOBJECT_BASIC_ACCOUNTING_INFORMATION_SIZE,
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION_SIZE,
  packExtendedLimitInformation,
  readAccountingInformation,
  readProcessIdList,
} from "../src/os/windows/structs.ts";
import { JobObjectBasicProcessIdList } from "../src/os/windows/win32_constants.ts";
import { jobTreePidsFromJobs } from "../src/os/windows.ts";
import { readWideString } from "../src/os/windows/wide_string.ts";

const NAME = jobObjectName("att_1");

Deno.test("JOBOBJECT_EXTENDED_LIMIT_INFORMATION is 144 bytes with LimitFlags at offset 16 and every other byte zero", () => {
  const bytes = packExtendedLimitInformation(0x2400);
  assertEquals(bytes.byteLength, 144);
  assertEquals([...bytes.subarray(16, 20)], [0x00, 0x24, 0x00, 0x00]); // little-endian DWORD
  assert(bytes.every((b, i) => (i >= 16 && i < 20) || b === 0), "nothing but LimitFlags is set");
});

Deno.test("the job limits are kill-on-job-close (0x2000) and die-on-unhandled-exception (0x400), never breakaway", () => {
  assertEquals(JOB_LIMIT_FLAGS, 0x2400);
  assertEquals(JOB_LIMIT_FLAGS & (0x800 | 0x1000), 0);
});

Deno.test("JOBOBJECT_BASIC_ACCOUNTING_INFORMATION is read with TotalProcesses at 36 and ActiveProcesses at 40", () => {
  const bytes = new Uint8Array(JOBOBJECT_BASIC_ACCOUNTING_INFORMATION_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(32, 99, true); // TotalPageFaultCount: must not be confused with either
  view.setUint32(36, 7, true);
  view.setUint32(40, 3, true);
  view.setUint32(44, 4, true);
  assertEquals(readAccountingInformation(bytes), { totalProcesses: 7, activeProcesses: 3 });
});

Deno.test("an attempt's job object is named Global\\LabBridge-<attempt_id>, and an id that would leave that namespace is refused", () => {
  assertEquals(jobObjectName("att_01HZX-9"), "Global\\LabBridge-att_01HZX-9");
  for (const bad of ["", "a\\b", "..\\x", "a b", "x".repeat(101)]) assertThrows(() => jobObjectName(bad), RangeError);
});

Deno.test("a job object is created under its name with kill-on-close set through SetInformationJobObject", () => {
  const fake = new FakeWin32();
  const job = JobObject.create(fake.kernel32, NAME);
  assertEquals(fake.sequence(), ["OpenJobObjectW", "CreateJobObjectW", "SetInformationJobObject"]);
  assertEquals(readWideString(fake.call("CreateJobObjectW").args[1] as Uint8Array), NAME);
  assertEquals(fake.call("CreateJobObjectW").args[0], null, "default security: only SYSTEM and Administrators may open it");
  const [handle, infoClass, info, length] = fake.call("SetInformationJobObject").args as [bigint, number, Uint8Array, number];
  assertEquals(handle, job.handle);
  assertEquals(infoClass, 9); // JobObjectExtendedLimitInformation
  assertEquals(length, JOBOBJECT_EXTENDED_LIMIT_INFORMATION_SIZE);
  assertEquals(new DataView(info.buffer).getUint32(16, true), JOB_LIMIT_FLAGS);
  job.close();
  job.close();
  assertEquals(fake.openHandles.size, 0, "closed once, idempotently");
});

Deno.test("creating a job object whose name already exists is refused and leaves no handle open", () => {
  const fake = new FakeWin32();
  JobObject.create(fake.kernel32, NAME); // a leftover (or planted) job under this attempt's name
  const before = fake.openHandles.size;
  assertThrows(() => JobObject.create(fake.kernel32, NAME), Error, "already exists");
  assertEquals(fake.openHandles.size, before);
  assertEquals(fake.sequence().filter((f) => f === "CreateJobObjectW").length, 1, "never opened through CreateJobObjectW");
});

Deno.test("a job object whose limits cannot be set is closed and the error names SetInformationJobObject", () => {
  const fake = new FakeWin32();
  fake.on("SetInformationJobObject", () => 0);
  const e = assertThrows(() => JobObject.create(fake.kernel32, NAME), Win32Error);
  assertEquals((e as Win32Error).fn, "SetInformationJobObject");
  assertEquals(fake.openHandles.size, 0);
});

Deno.test("a failed CreateJobObjectW throws with its name and opens nothing", () => {
  const fake = new FakeWin32();
  fake.on("CreateJobObjectW", () => 0n);
  const e = assertThrows(() => JobObject.create(fake.kernel32, NAME), Win32Error);
  assertEquals((e as Win32Error).fn, "CreateJobObjectW");
  assertEquals(fake.openHandles.size, 0);
});

Deno.test("endJob terminates the job and waits until Windows reports no active process", async () => {
  const fake = new FakeWin32();
  const job = JobObject.create(fake.kernel32, NAME);
  const reports = [3, 2, 1, 0];
  fake.on("QueryInformationJobObject", (_h: bigint, _c: number, info: Uint8Array) => {
    new DataView(info.buffer).setUint32(40, reports.shift() ?? 0, true);
    return 1;
  });
  let sleeps = 0;
  const n = await endJob(job, async () => void sleeps++);
  assertEquals(n, 3, "the count from before the kill");
  assertEquals(sleeps, 2, "polled until ActiveProcesses reached 0");
  assertEquals(fake.call("TerminateJobObject").args, [job.handle, 1]);
  job.close();
});

Deno.test("a refused TerminateJobObject is an error, not a silent success", async () => {
  const fake = new FakeWin32();
  const job = JobObject.create(fake.kernel32, NAME);
  fake.on("TerminateJobObject", () => 0);
  let threw = false;
  await endJob(job, () => Promise.resolve()).catch((e) => threw = e instanceof Win32Error && e.fn === "TerminateJobObject");
  assert(threw);
  job.close();
});

Deno.test("off Windows the Win32 bindings are unavailable, with the reason", () => {
  const r = loadWin32();
  assertEquals(r.ok, false);
  if (!r.ok) assert(r.reason.includes(Deno.build.os), r.reason);
});

Deno.test("adoptProcess puts a running pid into a new job for its attempt, registers it, and closes the process handle", () => {
  const fake = new FakeWin32();
  const jobs = new JobTable();
  const job = adoptProcess(fake.kernel32, jobs, 4321, "att_9");
  assertEquals(fake.call("OpenProcess").args, [0x0100 | 0x0001, 0, 4321], "PROCESS_SET_QUOTA | PROCESS_TERMINATE, not inheritable");
  const [intoJob] = fake.call("AssignProcessToJobObject").args;
  assertEquals(intoJob, job.handle);
  assertEquals(jobs.get(4321), job);
  assertEquals([...fake.openHandles.values()], ["job"], "only the job handle stays open");
  assertEquals(job.name, "Global\\LabBridge-att_9");
});

Deno.test("adoptProcess of a pid that cannot be opened or assigned leaves nothing open and registers nothing", () => {
  for (const fn of ["OpenProcess", "AssignProcessToJobObject"]) {
    const fake = new FakeWin32();
    const jobs = new JobTable();
    fake.on(fn, () => (fn === "OpenProcess" ? 0n : 0));
    const e = assertThrows(() => adoptProcess(fake.kernel32, jobs, 4321, "att_9"), Win32Error);
    assertEquals((e as Win32Error).fn, fn);
    assertEquals(fake.openHandles.size, 0, fn);
    assertEquals(jobs.get(4321), undefined);
  }
});

Deno.test("JOBOBJECT_BASIC_PROCESS_ID_LIST is read with the count at 4 and 8-byte pids from offset 8", () => {
  const bytes = new Uint8Array(8 + 8 * 3);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 5, true); // assigned: more than listed
  view.setUint32(4, 3, true);
  [4, 70_000, 2 ** 31].forEach((pid, i) => view.setBigUint64(8 + 8 * i, BigInt(pid), true));
  assertEquals(readProcessIdList(bytes), [4, 70_000, 2 ** 31]);
  view.setUint32(4, 99, true); // a count past the buffer reads only what is there
  assertEquals(readProcessIdList(bytes).length, 3);
});

Deno.test("a job's own processes are every pid in its Job Object; a root without a job counts alone", () => {
  const fake = new FakeWin32();
  const jobs = new JobTable();
  const job = adoptProcess(fake.kernel32, jobs, 4100, "att_1");
  fake.pidsByJob.set(job.handle, [4100, 4200, 4300]);
  assertEquals(job.processIds(), [4100, 4200, 4300]);
  assertEquals([...jobTreePidsFromJobs(jobs, [4100, 9000])].sort((a, b) => a - b), [4100, 4200, 4300, 9000]);
  assertEquals(fake.call("QueryInformationJobObject").args.slice(1, 2), [JobObjectBasicProcessIdList]);
  job.close();
  assertEquals(job.processIds(), null);
});
