// `--input <file or dir>`: which local files a job gets, and where each lands in the
// attempt's input folder. A file lands under its own name; a folder lands under its name
// with its tree kept (`--input data` → `data/train/a.csv`).
import { readdir, stat } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import { inputPathProblem } from "@labbridge/protocol";
import { CliError, EXIT } from "./exit_codes.ts";

/** One local file and its place in the job's input folder. */
export interface LocalInput {
  /** Absolute local path. */
  file: string;
  /** Relative path inside the attempt's input folder, with forward slashes. */
  path: string;
}

/** The files named by `args` (files or folders), in a stable order. */
export async function localInputs(args: string[]): Promise<LocalInput[]> {
  const found: LocalInput[] = [];
  for (const arg of args) {
    const root = resolve(arg);
    let info;
    try {
      info = await stat(root);
    } catch {
      throw new CliError(`Input "${arg}" does not exist`, EXIT.usage);
    }
    if (info.isFile()) found.push({ file: root, path: basename(root) });
    else if (info.isDirectory()) {
      for (const file of await filesUnder(root)) found.push({ file, path: [basename(root), ...relative(root, file).split(sep)].join("/") });
    } else throw new CliError(`Input "${arg}" is neither a file nor a folder`, EXIT.usage);
  }
  const seen = new Set<string>();
  for (const input of found) {
    const problem = inputPathProblem(input.path);
    if (problem) throw new CliError(`Input "${input.file}" cannot be placed at "${input.path}": ${problem}`, EXIT.usage);
    if (seen.has(input.path)) throw new CliError(`Two inputs land at "${input.path}": rename one`, EXIT.usage);
    seen.add(input.path);
  }
  return found;
}

async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}
