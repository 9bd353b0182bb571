// The Windows seam's kill path (killTree / killLeftovers / killStale) against fake Win32
// bindings: Job Objects where the attempt has one, taskkill /T (with a warning) where not.
import { assert, assertEquals } from "./helpers/assert.ts";
import { FakeWin32 } from "./helpers/fake_win32.ts";
import { createLogger } from "../src/runtime/log.ts";
import { windowsKill } from "../src/os/windows.ts";
import { JobObject, jobObjectName, JobTable } from "../src/os/windows/job_object.ts";
import type { Win32Load } from "../src/os/windows/kernel32.ts";

function setup(win32: Win32Load | null = null) {
  const fake = new FakeWin32();
  const jobs = new JobTable();
  const taskkilled: number[] = [];
  const lines: Record<string, unknown>[] = [];
  let loads = 0;
  const kill = windowsKill({
    win32: () => {
      loads++;
      return win32 ?? { ok: true, win32: fake };
    },
    jobs,
    taskkill: (pid) => {
      taskkilled.push(pid);
      return Promise.resolve();
    },
    sleep: () => Promise.resolve(),
    log: createLogger((l) => lines.push(JSON.parse(l))),
  });
  return { fake, jobs, taskkilled, lines, kill, loads: () => loads };
}

Deno.test("killTree ends a registered attempt's Job Object with TerminateJobObject and does not run taskkill", async () => {
  const { fake, jobs, taskkilled, kill } = setup();
  const job = JobObject.create(fake.kernel32, jobObjectName("att_1"));
  jobs.add(4242, job);
  fake.activeByJob.set(job.handle, 3);
  await kill.killTree(4242, 5_000);
  assertEquals(fake.call("TerminateJobObject").args[0], job.handle);
  assertEquals(fake.activeByJob.get(job.handle), 0);
  assertEquals(taskkilled, []);
  assert(jobs.get(4242), "the job stays registered until killLeftovers closes it");
});

Deno.test("killTree falls back to taskkill /T, with a warning, when Windows refuses to end the Job Object", async () => {
  const { fake, jobs, taskkilled, lines, kill } = setup();
  jobs.add(4243, JobObject.create(fake.kernel32, jobObjectName("att_4")));
  fake.on("TerminateJobObject", () => 0);
  await kill.killTree(4243, 5_000);
  assertEquals(taskkilled, [4243]);
  assert(lines.some((l) => l.level === "warn" && String(l.msg).includes("taskkill")));
});

Deno.test("killTree falls back to taskkill /T with one warning when the Win32 FFI is unavailable", async () => {
  const { fake, taskkilled, lines, kill, loads } = setup({ ok: false, reason: "Requires ffi access" });
  await kill.killTree(11, 5_000);
  await kill.killTree(12, 5_000);
  assertEquals(taskkilled, [11, 12]);
  const warnings = lines.filter((l) => l.level === "warn");
  assertEquals(warnings.length, 1, "warned once, not per kill");
  assert(String(warnings[0]!.msg).includes("taskkill"));
  assertEquals(warnings[0]!.reason, "Requires ffi access");
  assertEquals(loads(), 1, "the library load is tried once");
  assertEquals(fake.calls, []);
});

Deno.test("killTree of a process without a Job Object (spawned by Deno.Command) uses taskkill /T", async () => {
  const { fake, taskkilled, lines, kill } = setup();
  await kill.killTree(77, 5_000);
  assertEquals(taskkilled, [77]);
  assertEquals(fake.sequence(), []);
  assertEquals(lines.filter((l) => l.level === "warn"), [], "FFI works: nothing to warn about");
});

Deno.test("killLeftovers ends what the job left behind and closes the job handle; a second call does nothing", async () => {
  const { fake, jobs, taskkilled, kill } = setup();
  const job = JobObject.create(fake.kernel32, jobObjectName("att_2"));
  jobs.add(500, job);
  fake.activeByJob.set(job.handle, 2); // the main process exited, two background children remain
  await kill.killLeftovers(500);
  assertEquals(fake.activeByJob.get(job.handle), 0);
  assertEquals(fake.openHandles.size, 0, "job handle closed");
  assertEquals(jobs.get(500), undefined);
  const calls = fake.calls.length;
  await kill.killLeftovers(500);
  assertEquals(fake.calls.length, calls);
  assertEquals(taskkilled, [], "a dead pid is never handed to taskkill");
});

Deno.test("killLeftovers of an empty job only closes it", async () => {
  const { fake, jobs, kill } = setup();
  const job = JobObject.create(fake.kernel32, jobObjectName("att_3"));
  jobs.add(501, job);
  await kill.killLeftovers(501);
  assert(!fake.sequence().includes("TerminateJobObject"));
  assertEquals(fake.openHandles.size, 0);
});

Deno.test("killLeftovers without a Job Object does nothing: a dead pid cannot be trusted", async () => {
  const { fake, taskkilled, kill } = setup();
  await kill.killLeftovers(502);
  assertEquals(taskkilled, []);
  assertEquals(fake.calls, []);
});

Deno.test("killStale opens a crashed agent's job by its attempt's name, ends it and reports how many processes it had", async () => {
  const { fake, kill } = setup();
  // The predecessor's job still exists (some handle outlived the crash) with 4 processes.
  const old = JobObject.create(fake.kernel32, jobObjectName("att_old"));
  fake.activeByJob.set(old.handle, 4);
  const before = new Set(fake.openHandles.keys());
  const n = await kill.killStale(9999, "att_old");
  assertEquals(n, 4);
  const open = fake.call("OpenJobObjectW");
  assertEquals(open.args[0], 0x0004 | 0x0008, "JOB_OBJECT_QUERY | JOB_OBJECT_TERMINATE, nothing more");
  const opened = [...fake.openHandles.keys()].filter((h) => !before.has(h));
  assertEquals(opened, [], "the handle killStale opened is closed");
  assert(fake.sequence().includes("TerminateJobObject"));
});

Deno.test("killStale finds nothing when the predecessor's job died with its handle", async () => {
  const { fake, taskkilled, kill } = setup();
  assertEquals(await kill.killStale(9999, "att_gone"), 0);
  assertEquals(fake.sequence(), ["OpenJobObjectW"]);
  assertEquals(taskkilled, [], "the recorded pid alone is never trusted");
});

Deno.test("killStale does nothing without the Win32 FFI", async () => {
  const { kill, taskkilled } = setup({ ok: false, reason: "not Windows" });
  assertEquals(await kill.killStale(9999, "att_old"), 0);
  assertEquals(taskkilled, []);
});
