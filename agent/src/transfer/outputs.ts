// Finds what a job left in its outputs/ folder. Symbolic links are skipped, never
// followed: a job could otherwise point one at a secret elsewhere on the workstation
// (the agent's own agent.json included) and have the agent upload it.
import { join } from "node:path";
import { relativePathProblem } from "../../../packages/protocol/src/index.ts";
import type { Logger } from "../runtime/log.ts";
import { dirEntriesOrNull } from "../runtime/dir_entries.ts";

export interface LocalFile {
  /** Path relative to the attempt's key prefix, e.g. "outputs/model/weights.bin". */
  keyPath: string;
  /** Path relative to outputs/ (what attempt.finished reports), e.g. "model/weights.bin". */
  rel: string;
  /** Where it is on disk. */
  local: string;
  size: number;
}

const MAX_DEPTH = 32;

/** Every regular file under `outputsDir`, sorted by path; unreportable names are skipped and logged. */
export async function listOutputs(outputsDir: string, log: Logger): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  async function walk(dir: string, relDir: string, depth: number): Promise<void> {
    if (depth > MAX_DEPTH) {
      log.warn("output folder nested too deep, skipped", { path: relDir });
      return;
    }
    const entries = await dirEntriesOrNull(dir);
    if (entries === null) return;
    for (const entry of entries) {
      const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
      const local = join(dir, entry.name);
      if (entry.isSymlink) {
        log.warn("output is a symbolic link, skipped", { path: rel });
        continue;
      }
      if (entry.isDirectory) {
        await walk(local, rel, depth + 1);
        continue;
      }
      if (!entry.isFile) continue;
      const problem = relativePathProblem(`outputs/${rel}`);
      if (problem) {
        log.warn("output name cannot be stored, skipped", { path: rel, problem });
        continue;
      }
      const info = await Deno.lstat(local);
      files.push({ keyPath: `outputs/${rel}`, rel, local, size: info.size });
    }
  }
  await walk(outputsDir, "", 0);
  return files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}
