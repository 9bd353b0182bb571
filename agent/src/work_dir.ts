// An attempt's work folder, <state-dir>/work/<attempt_id>/{inputs,outputs,logs}, plus
// process.json (the job's pid) so an agent that restarts after a crash can find and end a
// job tree its previous process left running.
import { join } from "node:path";
import { workRoot } from "./agent_state.ts";
import { errorText, type Logger } from "./log.ts";
import type { OsSeam } from "./os/os_seam.ts";
import { sleep } from "./timers.ts";

export interface WorkDir {
  root: string;
  inputs: string;
  outputs: string;
  logs: string;
  stdoutLog: string;
  stderrLog: string;
  processFile: string;
}

/** Paths of an attempt's folder; the attempt id was checked by the protocol parser, so it is a safe name. */
export function workDirOf(stateDir: string, attemptId: string): WorkDir {
  const root = join(workRoot(stateDir), attemptId);
  const logs = join(root, "logs");
  return {
    root,
    inputs: join(root, "inputs"),
    outputs: join(root, "outputs"),
    logs,
    stdoutLog: join(logs, "stdout.log"),
    stderrLog: join(logs, "stderr.log"),
    processFile: join(root, "process.json"),
  };
}

export async function createWorkDir(dir: WorkDir): Promise<void> {
  for (const d of [dir.inputs, dir.outputs, dir.logs]) await Deno.mkdir(d, { recursive: true });
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

export async function writeProcessRecord(dir: WorkDir, pid: number, attemptId: string): Promise<void> {
  await Deno.writeTextFile(dir.processFile, JSON.stringify({ pid, attempt_id: attemptId, started_at: new Date().toISOString() }));
}

/**
 * At startup the agent knows nothing of earlier attempts (hello says restarted: true and
 * the gateway settles them), so every folder under work/ is left over: end any job tree
 * that provably still runs for it, then remove the folder.
 */
export async function sweepWork(stateDir: string, os: OsSeam, log: Logger): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(workRoot(stateDir)));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  for (const entry of entries) {
    if (!entry.isDirectory) continue;
    const dir = workDirOf(stateDir, entry.name);
    try {
      const rec = JSON.parse(await Deno.readTextFile(dir.processFile)) as { pid?: unknown; attempt_id?: unknown };
      if (typeof rec.pid === "number" && rec.attempt_id === entry.name) {
        const n = await os.killStale(rec.pid, entry.name);
        if (n > 0) log.warn("ended a job left running by a previous agent process", { attempt_id: entry.name, pid: rec.pid, processes: n });
      }
    } catch {
      // No process.json: the attempt never started a process.
    }
    log.info("removed a work folder left by a previous agent process", { attempt_id: entry.name });
    await removeDir(dir.root, log);
  }
}
