// An attempt's work folder, <work-dir>/<attempt_id>/{inputs,outputs,logs,home,tmp}, plus
// process.json (the job's pid) so an agent that restarts after a crash can find and end a
// job tree its previous process left running.
//
// The work folder is a sibling of the state folder, never inside it. Where jobs run as a
// separate account (os.resolveJobAccount), modes do the fencing:
//
//   <work-dir>/                 agent-owned 0711: a job can pass through, never list it
//   <work-dir>/<attempt_id>/    agent-owned, group = the attempt's own gid, 01770: only
//                               that attempt's processes get in, not another attempt's
//                               (they share the job account's uid, not the gid). Sticky,
//                               so the job cannot rename logs/ or process.json away and
//                               plant a link the agent would then read as root
//     inputs/ outputs/ home/ tmp/   same, 0770; downloaded inputs are then given to the job
//     logs/                     0750: the job may read its logs, never swap them for a link
//                               to a file only the agent could read (the agent uploads them)
//
// Where jobs run as the agent's own account every folder is simply 0700.
import { dirname, join } from "node:path";
import { dirEntriesOrNull } from "../runtime/dir_entries.ts";
import { errorText, type Logger } from "../runtime/log.ts";
import type { JobAccount, JobRunAs, OsSeam } from "../os/os_seam.ts";
import { sleep } from "../runtime/timers.ts";

export interface WorkDir {
  root: string;
  inputs: string;
  outputs: string;
  logs: string;
  /** The job's HOME. */
  home: string;
  /** The job's TMPDIR/TMP/TEMP. */
  tmp: string;
  stdoutLog: string;
  stderrLog: string;
  processFile: string;
}

/** Paths of an attempt's folder; the attempt id was checked by the protocol parser, so it is a safe name. */
export function workDirOf(workRoot: string, attemptId: string): WorkDir {
  const root = join(workRoot, attemptId);
  const logs = join(root, "logs");
  return {
    root,
    inputs: join(root, "inputs"),
    outputs: join(root, "outputs"),
    logs,
    home: join(root, "home"),
    tmp: join(root, "tmp"),
    stdoutLog: join(logs, "stdout.log"),
    stderrLog: join(logs, "stderr.log"),
    processFile: join(root, "process.json"),
  };
}

/**
 * Why a job running as `account` could not reach its folder under `workRoot` (a parent
 * folder it may not pass through), or null. Checked at startup: otherwise every job would
 * fail to start with a bare "permission denied".
 */
export async function workRootReachProblem(workRoot: string, account: JobAccount): Promise<string | null> {
  if (account.kind !== "separate") return null;
  for (let dir = dirname(workRoot);; dir = dirname(dir)) {
    const st = await Deno.stat(dir);
    const mode = st.mode ?? 0;
    const ok = (mode & 0o001) !== 0 || (st.uid === account.uid && (mode & 0o100) !== 0) ||
      (st.gid !== null && account.groups.includes(st.gid) && (mode & 0o010) !== 0);
    if (!ok) {
      return `the job account "${account.name}" cannot pass through "${dir}" (mode ${(mode & 0o777).toString(8)}): give it o+x or choose another --work-dir`;
    }
    if (dirname(dir) === dir) return null;
  }
}

/** Creates the work root (see the header for its mode). */
export async function prepareWorkRoot(workRoot: string, account: JobAccount, os: OsSeam): Promise<void> {
  const mode = account.kind === "separate" ? 0o711 : 0o700;
  await Deno.mkdir(workRoot, { recursive: true, mode });
  if (os.supportsChmod()) await Deno.chmod(workRoot, mode);
}

/** Creates the attempt's folders with the modes in the header. */
export async function createWorkDir(dir: WorkDir, runAs: JobRunAs | null, os: OsSeam): Promise<void> {
  await Deno.mkdir(dir.root, { mode: 0o700 });
  await os.ownFolder(dir.root, runAs, 0o1770);
  for (const d of [dir.inputs, dir.outputs, dir.home, dir.tmp]) {
    await Deno.mkdir(d, { mode: 0o700 });
    await os.ownFolder(d, runAs, 0o770);
  }
  await Deno.mkdir(dir.logs, { mode: 0o700 });
  await os.ownFolder(dir.logs, runAs, 0o750);
}

/**
 * Gives the downloaded inputs to the job's account, so a job can change or remove its own
 * inputs (`chmod +x inputs/run.sh`). No job process exists yet, and only the agent wrote
 * here, so nothing can swap an entry for a link meanwhile; links are skipped regardless.
 */
export async function giveInputsToJob(dir: WorkDir, runAs: JobRunAs | null): Promise<void> {
  if (!runAs) return;
  const walk = async (path: string): Promise<void> => {
    for await (const entry of Deno.readDir(path)) {
      if (entry.isSymlink) continue;
      const child = join(path, entry.name);
      await Deno.chown(child, runAs.uid, runAs.gid);
      if (entry.isDirectory) await walk(child);
    }
  };
  await walk(dir.inputs);
}

/** Removes a folder, retrying a little: on Windows a just-killed process can hold files open for a moment. */
export async function removeDir(path: string, log: Logger): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    try {
      await Deno.remove(path, { recursive: true });
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return true;
      if (i === 4) log.warn("could not remove work folder", { path, error: errorText(e) });
      else await sleep(200 * (i + 1));
    }
  }
  return false;
}

/** Writes process.json: the job's pid and, as a job account, the attempt's own gid (null otherwise). */
export async function writeProcessRecord(dir: WorkDir, pid: number, attemptId: string, gid: number | null): Promise<void> {
  await Deno.writeTextFile(dir.processFile, JSON.stringify({ pid, attempt_id: attemptId, gid, started_at: new Date().toISOString() }));
}

/**
 * At startup the agent knows nothing of earlier attempts (hello says restarted: true and
 * the gateway settles them), so every folder under each of `workRoots` is left over: end
 * any job tree that provably still runs for it, then remove the folder. As a job account,
 * the job cannot replace process.json (the agent's file, in a sticky folder); as the
 * agent's own account it could, but killStale only signals processes whose own
 * environment names the attempt, or that hold a gid of the per-attempt range.
 */
export async function sweepWork(workRoots: string[], os: OsSeam, log: Logger): Promise<void> {
  for (const workRoot of workRoots) {
    const entries = await dirEntriesOrNull(workRoot);
    if (entries === null) continue;
    for (const entry of entries) {
      if (!entry.isDirectory) continue;
      const dir = workDirOf(workRoot, entry.name);
      try {
        const rec = JSON.parse(await Deno.readTextFile(dir.processFile)) as { pid?: unknown; attempt_id?: unknown; gid?: unknown };
        if (typeof rec.pid === "number" && rec.attempt_id === entry.name) {
          const n = await os.killStale(rec.pid, entry.name, typeof rec.gid === "number" ? rec.gid : null);
          if (n > 0) log.warn("ended a job left running by a previous agent process", { attempt_id: entry.name, pid: rec.pid, processes: n });
        }
      } catch {
        // No process.json: the attempt never started a process.
      }
      log.info("removed a work folder left by a previous agent process", { attempt_id: entry.name });
      await removeDir(dir.root, log);
    }
  }
}
