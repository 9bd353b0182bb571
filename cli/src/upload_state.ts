// What `lb submit` remembers about uploads it started, so a run that was interrupted resumes
// the same multipart upload instead of sending every byte again, and a file already uploaded
// is not sent twice. Keyed by path, size, mtime and sha256: any change to the file is a new
// upload. The file is a cache: deleting it only costs re-sending.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stateDir } from "./config_file.ts";

/** What is remembered of one upload. */
export interface RememberedUpload {
  server: string;
  upload_id: string;
  key: string;
  done: boolean;
}

/** The identity of a local file's content at one moment. */
export interface FileIdentity {
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

function stateFile(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), "uploads.json");
}

function keyOf(file: FileIdentity): string {
  return [file.path, file.size, Math.floor(file.mtimeMs), file.sha256].join("|");
}

async function readAll(env: NodeJS.ProcessEnv): Promise<Record<string, RememberedUpload>> {
  try {
    return JSON.parse(await readFile(stateFile(env), "utf8")) as Record<string, RememberedUpload>;
  } catch {
    // Missing or damaged: a cache, so start empty.
    return {};
  }
}

/** The remembered upload of this file content on `server`, if any. */
export async function recallUpload(file: FileIdentity, server: string, env: NodeJS.ProcessEnv = process.env): Promise<RememberedUpload | null> {
  const found = (await readAll(env))[keyOf(file)];
  return found && found.server === server ? found : null;
}

/** Remembers (or forgets, with null) the upload of this file content. */
export async function rememberUpload(file: FileIdentity, upload: RememberedUpload | null, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const all = await readAll(env);
  if (upload) all[keyOf(file)] = upload;
  else delete all[keyOf(file)];
  const path = stateFile(env);
  await mkdir(stateDir(env), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(all, null, 2), { mode: 0o600 });
  await rename(temp, path);
}
