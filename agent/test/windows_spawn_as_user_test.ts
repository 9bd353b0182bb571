// spawnAsUser's whole call sequence against recording fake Win32 bindings: suspended →
// assigned to its Job Object → resumed; what CreateProcessAsUserW is handed; and every
// handle and native block released on every path, failures included.
import { assert, assertEquals } from "./helpers/assert.ts";
import { FakeWin32 } from "./helpers/fake_win32.ts";
import { JobTable } from "../src/os/windows/job_object.ts";
import { CREATION_FLAGS, spawnAsUser, SpawnAsUserError, type SpawnAsUserSpec } from "../src/os/windows/spawn_as_user.ts";
import type { RunProgram } from "../src/os/windows/work_folder_acl.ts";
import { readWideString } from "../src/os/windows/wide_string.ts";

const SPEC: SpawnAsUserSpec = {
  argv: ["C:\\Program Files\\Python312\\python.exe", "train.py", "--name", "run 1"],
  cwd: "C:\\ProgramData\\LabBridge\\work\\att_1",
  env: { PATH: "C:\\Windows\\System32", LB_ATTEMPT_ID: "att_1", CUDA_VISIBLE_DEVICES: "0" },
  stdoutPath: "C:\\ProgramData\\LabBridge\\work\\att_1\\logs\\stdout.log",
  stderrPath: "C:\\ProgramData\\LabBridge\\work\\att_1\\logs\\stderr.log",
  attemptId: "att_1",
  account: { user: "labbridge-job", domain: ".", password: "s3cret-Pa55" },
};

function setup() {
  const fake = new FakeWin32();
  const jobs = new JobTable();
  const icacls: { args: string[]; callsBefore: number }[] = [];
  let icaclsOk = true;
  const run: RunProgram = (program, args) => {
    assertEquals(program, "icacls");
    icacls.push({ args, callsBefore: fake.calls.length });
    return Promise.resolve({
      success: icaclsOk,
      code: icaclsOk ? 0 : 1332,
      stderr: icaclsOk ? "" : "No mapping between account names and security IDs was done.",
    });
  };
  return { fake, jobs, icacls, run, failIcacls: () => icaclsOk = false };
}

function decodeBlock(b: Uint8Array): string {
  return String.fromCharCode(...new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2));
}

/** After a failed spawn nothing may be left behind: no handle, no native block, no registered job. */
function assertNothingLeft(fake: FakeWin32, jobs: JobTable, pid = 4000) {
  assertEquals([...fake.openHandles.values()], [], "open handles");
  assertEquals(fake.allocated.size, 0, "native blocks");
  assertEquals(jobs.get(pid), undefined, "registered job");
}

async function rejects(p: Promise<unknown>, includes: string): Promise<SpawnAsUserError> {
  try {
    await p;
  } catch (e) {
    assert(e instanceof SpawnAsUserError, `a SpawnAsUserError, got ${e}`);
    assert(e.message.includes(includes), `"${e.message}" mentions "${includes}"`);
    return e;
  }
  throw new Error("expected the spawn to fail");
}

Deno.test("the job starts suspended, is assigned to its Job Object, and only then resumed", async () => {
  const { fake, jobs, run } = setup();
  const proc = await spawnAsUser(SPEC, { win32: fake, jobs, run });
  const seq = fake.sequence();
  const at = (fn: string) => seq.indexOf(fn);
  assert(at("CreateJobObjectW") < at("LogonUserW"), "job object before anything runs");
  assert(at("CreateProcessAsUserW") < at("AssignProcessToJobObject"));
  assert(at("AssignProcessToJobObject") < at("ResumeThread"));
  assertEquals(seq.filter((f) => f === "ResumeThread").length, 1);
  const flags = fake.call("CreateProcessAsUserW").args[6] as number;
  assertEquals(flags, CREATION_FLAGS);
  assertEquals(
    flags,
    0x4 | 0x400 | 0x200 | 0x0800_0000 | 0x8_0000,
    "SUSPENDED | UNICODE_ENVIRONMENT | NEW_PROCESS_GROUP | NO_WINDOW | EXTENDED_STARTUPINFO_PRESENT",
  );
  const [job, processHandle] = fake.call("AssignProcessToJobObject").args as [bigint, bigint];
  assertEquals(job, jobs.get(proc.pid)!.handle, "the registered job is the one the process went into");
  assertEquals(fake.openHandles.get(processHandle), "process");
  assertEquals(fake.openHandles.get(fake.call("ResumeThread").args[0] as bigint), undefined, "the thread handle is closed after resuming");
  fake.exitAll();
  await proc.status;
});

Deno.test("CreateProcessAsUserW gets the quoted command line, the sorted environment, the work folder and the job's std handles", async () => {
  const { fake, jobs, run } = setup();
  const proc = await spawnAsUser(SPEC, { win32: fake, jobs, run });
  const [token, app, cmd, pattrs, tattrs, inherit, , env, cwd, startup] = fake.call("CreateProcessAsUserW").args as [
    bigint,
    null,
    Uint8Array,
    null,
    null,
    number,
    number,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  assertEquals(readWideString(cmd), '"C:\\Program Files\\Python312\\python.exe" train.py --name "run 1"');
  assertEquals([app, pattrs, tattrs, inherit], [null, null, null, 1]);
  assertEquals(decodeBlock(env), "CUDA_VISIBLE_DEVICES=0\0LB_ATTEMPT_ID=att_1\0PATH=C:\\Windows\\System32\0\0");
  assertEquals(readWideString(cwd), SPEC.cwd);
  const logonOut = fake.call("LogonUserW").args[5] as Uint8Array;
  assertEquals(token, new DataView(logonOut.buffer).getBigUint64(0, true), "the token LogonUserW returned");
  const v = new DataView(startup.buffer);
  const files = fake.calls.filter((c) => c.fn === "CreateFileW");
  assertEquals(files.map((c) => readWideString(c.args[0] as Uint8Array)), ["NUL", SPEC.stdoutPath, SPEC.stderrPath]);
  assertEquals(v.getUint32(0, true), 112, "cb of a STARTUPINFOEXW");
  assertEquals(v.getUint32(60, true), 0x100, "STARTF_USESTDHANDLES");
  assertEquals([80, 88, 96].map((off) => v.getBigUint64(off, true)), files.map((c) => c.result as bigint), "hStdInput, hStdOutput, hStdError");
  for (const f of files) assert(!fake.openHandles.has(f.result as bigint), "the agent's copy of each std handle is closed after the spawn");
  const desktop = v.getBigUint64(16, true);
  const alloc = fake.calls.find((c) => c.result === desktop && c.fn === "LocalAlloc");
  assertEquals(alloc?.args, [0x40, 2n], "lpDesktop points at a zeroed 2-byte block: the empty string, not NULL");
  assert(fake.calls.some((c) => c.fn === "LocalFree" && c.args[0] === desktop), "the desktop string is freed");
  fake.exitAll();
  await proc.status;
});

Deno.test("the job inherits exactly its three std handles, through a handle list that is freed after the spawn", async () => {
  const { fake, jobs, run } = setup();
  const proc = await spawnAsUser(SPEC, { win32: fake, jobs, run });
  const files = fake.calls.filter((c) => c.fn === "CreateFileW").map((c) => c.result as bigint);
  assertEquals(fake.handleLists, [{ attribute: 0x20002n, handles: files }], "PROC_THREAD_ATTRIBUTE_HANDLE_LIST = stdin, stdout, stderr");
  const startup = fake.call("CreateProcessAsUserW").args[9] as Uint8Array;
  const list = new DataView(startup.buffer).getBigUint64(104, true);
  assertEquals(fake.call("UpdateProcThreadAttribute").args[0], list, "lpAttributeList is the list that holds them");
  const seq = fake.sequence();
  assert(seq.indexOf("UpdateProcThreadAttribute") < seq.indexOf("CreateProcessAsUserW"));
  assertEquals(fake.attributeLists.size, 0, "DeleteProcThreadAttributeList called");
  assertEquals(fake.allocated.size, 0, "every LocalAlloc block freed");
  fake.exitAll();
  await proc.status;
});

Deno.test("a handle list that cannot be built releases its memory and everything else", async () => {
  const { fake, jobs, run } = setup();
  fake.on("UpdateProcThreadAttribute", () => 0);
  await rejects(spawnAsUser(SPEC, { win32: fake, jobs, run }), "UpdateProcThreadAttribute");
  assertEquals(fake.attributeLists.size, 0);
  assert(!fake.sequence().includes("CreateProcessAsUserW"));
  assertNothingLeft(fake, jobs);
});

Deno.test("the log files are opened for writing, truncated, shared for reading and deleting, and inheritable", async () => {
  const { fake, jobs, run } = setup();
  const proc = await spawnAsUser(SPEC, { win32: fake, jobs, run });
  const out = fake.calls.filter((c) => c.fn === "CreateFileW")[1]!;
  const [, access, share, attrs, disposition] = out.args as [Uint8Array, number, number, Uint8Array, number];
  assertEquals(access, 0x4000_0000, "GENERIC_WRITE");
  assertEquals(share, 0x7, "FILE_SHARE_READ | WRITE | DELETE: the agent tails and uploads while the job writes");
  assertEquals(disposition, 2, "CREATE_ALWAYS");
  assertEquals(new DataView(attrs.buffer).getUint32(16, true), 1, "bInheritHandle");
  const stdin = fake.calls.filter((c) => c.fn === "CreateFileW")[0]!;
  assertEquals([stdin.args[1], stdin.args[4]], [0x8000_0000, 3], "NUL opened GENERIC_READ, OPEN_EXISTING");
  fake.exitAll();
  await proc.status;
});

Deno.test("the job account logs on with a batch logon and its password buffer is wiped afterwards", async () => {
  const { fake, jobs, run } = setup();
  const proc = await spawnAsUser(SPEC, { win32: fake, jobs, run });
  const [user, domain, password, type, provider] = fake.call("LogonUserW").args as [Uint8Array, Uint8Array, Uint8Array, number, number];
  assertEquals([readWideString(user), readWideString(domain)], ["labbridge-job", "."]);
  assertEquals([type, provider], [4, 0], "LOGON32_LOGON_BATCH, LOGON32_PROVIDER_DEFAULT");
  assert(password.every((b) => b === 0), "no copy of the password stays in memory");
  fake.exitAll();
  await proc.status;
});

Deno.test("the work folder is granted to the logon session's SID before the process is created", async () => {
  const { fake, jobs, run, icacls } = setup();
  const proc = await spawnAsUser(SPEC, { win32: fake, jobs, run });
  assertEquals(icacls.map((c) => c.args), [[SPEC.cwd, "/grant", "*S-1-5-5-0-123456:(OI)(CI)M", "/Q"]]);
  assert(icacls[0]!.callsBefore <= fake.calls.findIndex((c) => c.fn === "CreateProcessAsUserW"), "granted before CreateProcessAsUserW");
  fake.exitAll();
  await proc.status;
});

Deno.test("without a readable logon SID the folder is granted to the account name", async () => {
  const { fake, jobs, run, icacls } = setup();
  fake.on("GetTokenInformation", () => 0);
  const proc = await spawnAsUser(SPEC, { win32: fake, jobs, run });
  assertEquals(icacls[0]!.args[2], "labbridge-job:(OI)(CI)M");
  fake.exitAll();
  await proc.status;
});

Deno.test("status resolves with the exit code once the process exits, and only then is its handle closed", async () => {
  const { fake, jobs, run } = setup();
  fake.exitCode = 0xc000_0005; // an access violation
  const proc = await spawnAsUser(SPEC, { win32: fake, jobs, run });
  const processHandle = fake.call("AssignProcessToJobObject").args[1] as bigint;
  assertEquals(fake.pendingWaits, 1);
  assertEquals(fake.call("WaitForSingleObject").args, [processHandle, 0xffff_ffff]);
  assertEquals(fake.openHandles.get(processHandle), "process", "held while the job runs, so its pid cannot be reused");
  fake.exitAll();
  assertEquals(await proc.status, { success: false, code: 0xc000_0005, signal: null });
  assertEquals(fake.openHandles.get(processHandle), undefined);
  const job = jobs.get(proc.pid);
  assert(job, "the Job Object stays registered for killLeftovers");
  assertEquals([...fake.openHandles.values()], ["job"], "nothing but the job handle is open");
});

Deno.test("a zero exit code is success", async () => {
  const { fake, jobs, run } = setup();
  const proc = await spawnAsUser(SPEC, { win32: fake, jobs, run });
  fake.exitAll();
  assertEquals(await proc.status, { success: true, code: 0, signal: null });
});

Deno.test("a failed wait rejects the status and still closes the process handle", async () => {
  const { fake, jobs, run } = setup();
  fake.on("WaitForSingleObject", () => Promise.resolve(0xffff_ffff));
  const proc = await spawnAsUser(SPEC, { win32: fake, jobs, run });
  let threw = false;
  await proc.status.catch(() => threw = true);
  assert(threw);
  assertEquals([...fake.openHandles.values()], ["job"]);
});

Deno.test("a command Windows cannot carry is refused before any Win32 call", async () => {
  const { fake, jobs, run } = setup();
  await rejects(spawnAsUser({ ...SPEC, argv: ["python.exe", "a\0b"] }, { win32: fake, jobs, run }), "NUL");
  await rejects(spawnAsUser({ ...SPEC, env: { "A=B": "1" } }, { win32: fake, jobs, run }), "=");
  await rejects(spawnAsUser({ ...SPEC, attemptId: "..\\x" }, { win32: fake, jobs, run }), "job object");
  assertEquals(fake.calls, []);
});

Deno.test("a refused logon ends the spawn with the account named and nothing left open", async () => {
  const { fake, jobs, run, icacls } = setup();
  fake.on("LogonUserW", () => 0);
  await rejects(spawnAsUser(SPEC, { win32: fake, jobs, run }), 'cannot log on as "labbridge-job"');
  assertEquals(icacls, []);
  assert(!fake.sequence().includes("CreateProcessAsUserW"));
  assertNothingLeft(fake, jobs);
});

Deno.test("a failed icacls grant ends the spawn before the process exists, with icacls's message", async () => {
  const { fake, jobs, run, failIcacls } = setup();
  failIcacls();
  await rejects(spawnAsUser(SPEC, { win32: fake, jobs, run }), "No mapping between account names");
  assert(!fake.sequence().includes("CreateFileW"));
  assertNothingLeft(fake, jobs);
});

Deno.test("a log file that cannot be opened closes the handles already opened", async () => {
  const { fake, jobs, run } = setup();
  let n = 0;
  fake.on("CreateFileW", () => (++n === 3 ? 0xffff_ffff_ffff_ffffn : BigInt(0x900 + n)));
  // The fake's handle bookkeeping does not know these two values, so track them here.
  const closed: bigint[] = [];
  fake.on("CloseHandle", (h: bigint) => {
    closed.push(h);
    fake.openHandles.delete(h);
    return 1;
  });
  await rejects(spawnAsUser(SPEC, { win32: fake, jobs, run }), "stderr.log");
  assert(closed.includes(0x901n) && closed.includes(0x902n), "NUL and stdout.log handles closed");
  assertNothingLeft(fake, jobs);
});

Deno.test("a failed CreateProcessAsUserW closes the token, the log handles, the desktop string and the job", async () => {
  const { fake, jobs, run } = setup();
  fake.on("CreateProcessAsUserW", () => 0);
  await rejects(spawnAsUser(SPEC, { win32: fake, jobs, run }), "CreateProcessAsUserW");
  assertNothingLeft(fake, jobs);
});

Deno.test("a process that cannot join its Job Object is terminated while still suspended and never resumed", async () => {
  const { fake, jobs, run } = setup();
  fake.on("AssignProcessToJobObject", () => 0);
  await rejects(spawnAsUser(SPEC, { win32: fake, jobs, run }), "AssignProcessToJobObject");
  const seq = fake.sequence();
  assert(seq.includes("TerminateProcess"));
  assert(!seq.includes("ResumeThread"), "not one instruction of the job ran outside its job");
  assertNothingLeft(fake, jobs);
});

Deno.test("a failed ResumeThread terminates the suspended process and releases everything", async () => {
  const { fake, jobs, run } = setup();
  fake.on("ResumeThread", () => 0xffff_ffff);
  await rejects(spawnAsUser(SPEC, { win32: fake, jobs, run }), "ResumeThread");
  assert(fake.sequence().includes("TerminateProcess"));
  assertNothingLeft(fake, jobs);
});

Deno.test("a job object left under the attempt's name refuses the spawn before logging on", async () => {
  const { fake, jobs, run } = setup();
  fake.namedJobs.set("Global\\LabBridge-att_1", 0x1n);
  await rejects(spawnAsUser(SPEC, { win32: fake, jobs, run }), "already exists");
  assert(!fake.sequence().includes("LogonUserW"));
  assertNothingLeft(fake, jobs);
});
