// A job the OS seam starts itself (the Windows job account: CreateProcessAsUserW with its
// std handles on the log files) is followed by tailing logs/stdout.log. Here the seam's
// spawnAsAccount starts a real process that writes the file itself, as such a job does.
// Both files are tailed for the live log.
import { join } from "node:path";
import { assert, assertEquals } from "./helpers/assert.ts";
import { JobProcess } from "../src/attempt/job_process.ts";
import { DEFAULT_LIVE_LOG_LIMITS, LiveLog } from "../src/attempt/live_log.ts";
import { linuxSeam } from "../src/os/linux.ts";
import type { DirectJobSpec, OsSeam } from "../src/os/os_seam.ts";

const LOGON = { kind: "logon" as const, name: "labbridge-job", accountFile: "/nowhere/job-account.json" };

Deno.test("a job started by the seam as the job account is followed through its own stdout log, and both its logs feed the live log", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lb-direct-job-" });
  const seen: DirectJobSpec[] = [];
  const os: OsSeam = {
    ...linuxSeam,
    spawnAsAccount(spec) {
      seen.push(spec);
      // The job writes its own log files; nothing is piped through the agent.
      const child = new Deno.Command("sh", {
        args: [
          "-c",
          `printf 'epoch 1\\n' > "$1"; sleep 0.3; printf 'epoch 2\\nlast line\\n' >> "$1"; echo oops > "$2"; exit 3`,
          "sh",
          spec.stdoutPath,
          spec.stderrPath,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      return Promise.resolve({ pid: child.pid, status: child.status });
    },
  };
  const live = new LiveLog(DEFAULT_LIVE_LOG_LIMITS);
  try {
    const proc = await JobProcess.spawn({
      argv: ["python.exe", "train.py"],
      cwd: dir,
      env: { LB_ATTEMPT_ID: "att_1" },
      runAs: null,
      stdoutPath: join(dir, "stdout.log"),
      stderrPath: join(dir, "stderr.log"),
      os,
      logon: LOGON,
      attemptId: "att_1",
      onOutput: (stream, chunk) => live.push(stream, chunk),
    });
    assertEquals(seen.length, 1);
    assertEquals(seen[0]!.account, LOGON);
    assertEquals(seen[0]!.argv, ["python.exe", "train.py"]);
    assertEquals(seen[0]!.attemptId, "att_1");
    const status = await proc.status;
    assertEquals(status.code, 3);
    const started = Date.now();
    await proc.closeLogs(10_000);
    assert(Date.now() - started < 2_000, "the tail ends with the job, not after the drain grace");
    assertEquals(proc.lines.latest()?.line, "last line", "the last line written before the exit is seen");
    live.end();
    assertEquals(live.take(), { stdout: ["epoch 1", "epoch 2", "last line"], stderr: ["oops"] });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a job account the seam cannot start is a spawn failure that names the account and the reason", async () => {
  const os: OsSeam = { ...linuxSeam, spawnAsAccount: () => Promise.reject(new Error("LogonUserW failed: 1326 (wrong password)")) };
  let message = "";
  try {
    await JobProcess.spawn({
      argv: ["python.exe"],
      cwd: "/tmp",
      env: {},
      runAs: null,
      stdoutPath: "/tmp/x",
      stderrPath: "/tmp/y",
      os,
      logon: LOGON,
      attemptId: "att_1",
    });
  } catch (e) {
    message = `${(e as Error).name}: ${(e as Error).message}`;
  }
  assert(message.startsWith("SpawnError"), message);
  assert(message.includes('as "labbridge-job"') && message.includes("1326"), message);
});
