// The Windows job account as the agent uses it through the OS seam: which account jobs run
// as (the installer's job-account.json; never SYSTEM without one), and a job started as it
// through spawnAsUser with recording fake Win32 bindings. The real FFI is on the checklist.
import { join } from "node:path";
import { assert, assertEquals } from "./helpers/assert.ts";
import { FakeWin32 } from "./helpers/fake_win32.ts";
import { JobTable } from "../src/os/windows/job_object.ts";
import { isLocalSystem, resolveWindowsJobAccount, spawnAsInstalledAccount } from "../src/os/windows/windows_jobs.ts";

const SYSTEM_ENV = { USERNAME: "LAB-PC-07$", USERPROFILE: "C:\\Windows\\system32\\config\\systemprofile" };
const USER_ENV = { USERNAME: "alice", USERPROFILE: "C:\\Users\\alice" };

async function stateDirWith(account: Record<string, string> | null): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lb-win-jobs-" });
  if (account) await Deno.writeTextFile(join(dir, "job-account.json"), JSON.stringify(account));
  return dir;
}

Deno.test("LocalSystem is told from its machine-account user name or its system profile", () => {
  assert(isLocalSystem(SYSTEM_ENV));
  assert(isLocalSystem({ USERNAME: "LAB-PC-07$" }));
  assert(isLocalSystem({ USERPROFILE: "C:\\WINDOWS\\System32\\Config\\SystemProfile" }));
  assert(!isLocalSystem(USER_ENV));
  assert(!isLocalSystem({}));
});

Deno.test("with the installer's job-account.json, jobs run as that account, and a differing --job-user is warned about", async () => {
  const dir = await stateDirWith({ user: "labbridge-job", domain: ".", password: "pw-1" });
  try {
    const same = await resolveWindowsJobAccount("labbridge-job", dir, SYSTEM_ENV);
    assertEquals(same.account, { kind: "logon", name: "labbridge-job", accountFile: join(dir, "job-account.json") });
    assertEquals(same.warnings, []);
    const other = await resolveWindowsJobAccount("someone", dir, SYSTEM_ENV);
    assertEquals(other.account.kind, "logon");
    assert(other.warnings[0]?.includes('jobs run as "labbridge-job"'), other.warnings.join());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an agent running as SYSTEM without a job account refuses to run jobs rather than run them as SYSTEM", async () => {
  const dir = await stateDirWith(null);
  try {
    let message = "";
    try {
      await resolveWindowsJobAccount("labbridge-job", dir, SYSTEM_ENV);
    } catch (e) {
      message = (e as Error).message;
    }
    assert(message.includes("never run as SYSTEM"), `refused: ${message}`);
    const dev = await resolveWindowsJobAccount("labbridge-job", dir, USER_ENV);
    assertEquals(dev.account.kind, "agent", "a developer's shell runs jobs as that developer");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a job for the installed account is logged on as that account and lands in its Job Object", async () => {
  const dir = await stateDirWith({ user: "labbridge-job", domain: ".", password: "pw-1" });
  try {
    const { account } = await resolveWindowsJobAccount("labbridge-job", dir, SYSTEM_ENV);
    assert(account.kind === "logon");
    const fake = new FakeWin32();
    const jobs = new JobTable();
    const run = () => Promise.resolve({ success: true, code: 0, stderr: "" });
    const job = await spawnAsInstalledAccount({
      argv: ["python.exe", "train.py"],
      cwd: "C:\\lb-work\\att_1",
      env: { PATH: "C:\\Windows\\System32" },
      stdoutPath: "C:\\lb-work\\att_1\\logs\\stdout.log",
      stderrPath: "C:\\lb-work\\att_1\\logs\\stderr.log",
      attemptId: "att_1",
      account,
    }, { win32: () => ({ ok: true, win32: fake }), jobs, run });
    const logon = fake.call("LogonUserW").args;
    assertEquals(String.fromCharCode(...new Uint16Array((logon[0] as Uint8Array).buffer)).replace(/\0+$/, ""), "labbridge-job");
    assert(jobs.get(job.pid), "the job's Job Object is registered for the kill path");
    fake.exitAll();
    assertEquals((await job.status).success, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without Win32 bindings a job for the installed account is refused with the reason, not started another way", async () => {
  const dir = await stateDirWith({ user: "labbridge-job", domain: ".", password: "pw" });
  try {
    const { account } = await resolveWindowsJobAccount("labbridge-job", dir, SYSTEM_ENV);
    assert(account.kind === "logon");
    let message = "";
    try {
      await spawnAsInstalledAccount({
        argv: ["python.exe"],
        cwd: "C:\\w",
        env: {},
        stdoutPath: "C:\\w\\o",
        stderrPath: "C:\\w\\e",
        attemptId: "att_1",
        account,
      }, { win32: () => ({ ok: false, reason: "no --allow-ffi for kernel32.dll" }), jobs: new JobTable() });
    } catch (e) {
      message = (e as Error).message;
    }
    assert(message.includes("no --allow-ffi for kernel32.dll"), message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
