// Looks at real processes (Linux), to prove a job tree is really gone. Deno refuses to read
// /proc without --allow-all, so this goes through small helper processes, as the agent does.
// Every read fails loudly on an error it does not expect (no /proc, a permission refused):
// an empty answer would otherwise read as "no survivors" and pass without looking. Only a
// process that ends between the listing and the read is skipped: that one is gone anyway.
import { parseProcStats, type ProcInfo } from "../../src/os/linux.ts";
import { until } from "./wait.ts";

/** Stderr of a read of /proc/<pid>/… whose process ended between the glob and the read. */
const VANISHED = /(No such file or directory|No such process)$/;

/** Runs `script` in sh; returns stdout, and throws on any stderr line but a vanished process. */
async function readThroughShell(what: string, script: string, args: string[] = []): Promise<string> {
  const out = await new Deno.Command("/bin/sh", { args: ["-c", script, "sh", ...args], stdin: "null", stdout: "piped", stderr: "piped" }).output();
  const unexpected = new TextDecoder().decode(out.stderr).split("\n").filter((l) => l && !VANISHED.test(l));
  if (unexpected.length) throw new Error(`Cannot read ${what}: ${unexpected.join("; ")}`);
  return new TextDecoder().decode(out.stdout);
}

/** Every live process (zombies are dead), by pid. */
async function liveProcs(): Promise<Map<number, ProcInfo>> {
  const procs = parseProcStats(await readThroughShell("/proc/*/stat", "cat /proc/[0-9]*/stat"));
  // This very helper's shell is always there: an empty map means /proc was not read.
  if (procs.size === 0) throw new Error("Cannot read /proc/*/stat: no process listed");
  for (const [pid, p] of procs) if (p.state === "Z" || p.state === "X") procs.delete(pid);
  return procs;
}

/** True while `pid` exists and is not a zombie (a zombie has already died). */
export async function isAlive(pid: number): Promise<boolean> {
  return (await liveProcs()).has(pid);
}

/**
 * Live pids whose environment carries LB_ATTEMPT_ID=<attemptId>: the attempt's whole tree,
 * escaped members included. Only processes younger than this test process are read: an
 * attempt's are, and some older ones (a VM's init) refuse even root a read of their environ.
 */
export async function pidsOfAttempt(attemptId: string): Promise<number[]> {
  const before = await liveProcs();
  const self = before.get(Deno.pid);
  if (!self) throw new Error(`Cannot find this test process (pid ${Deno.pid}) in /proc`);
  const candidates = [...before.values()].filter((p) => Number(p.start) >= Number(self.start)).map((p) => `/proc/${p.pid}/environ`);
  // grep exits 1 when nothing matches and 2 on a vanished file: its stderr tells errors apart.
  const text = await readThroughShell("/proc/*/environ", 'a=$1; shift; grep -l -z -x "LB_ATTEMPT_ID=$a" "$@"; true', [attemptId, ...candidates]);
  const pids = text.split("\n").map((l) => /^\/proc\/(\d+)\/environ$/.exec(l)?.[1]).filter((x) => x !== undefined).map(Number);
  const live = await liveProcs();
  return pids.filter((pid) => live.has(pid));
}

/**
 * The processes whose pids a job wrote to `file` (one a line), once `count` are there, each
 * proved alive through /proc, with its start time so a reused pid is not taken for it later.
 */
export async function pidsWrittenBy(file: string, count: number): Promise<ProcInfo[]> {
  const pids = await until(async () => {
    const text = await Deno.readTextFile(file).catch((err) => (err instanceof Deno.errors.NotFound ? "" : Promise.reject(err)));
    const lines = text.split("\n").filter(Boolean).map(Number);
    return lines.length >= count && lines;
  }, `${count} pids in ${file}`);
  const live = await liveProcs();
  const seen = pids.map((pid) => live.get(pid));
  const missing = pids.filter((_, i) => !seen[i]);
  if (missing.length) throw new Error(`Pids written by the job are not alive: ${missing.join(", ")}`);
  return seen as ProcInfo[];
}

/** Those of `procs` still alive as the same process (same pid and start time). */
export async function survivors(procs: ProcInfo[]): Promise<number[]> {
  const live = await liveProcs();
  return procs.filter((p) => live.get(p.pid)?.start === p.start).map((p) => p.pid);
}

/** A folder any account can write, for a job to leave its pids in (jobs may run as another account). */
export async function pidFolder(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lb-pids-" });
  await Deno.chmod(dir, 0o777);
  return dir;
}
