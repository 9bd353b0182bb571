// Paths and object keys come from clients and agents; nothing reaches a file system or
// a bucket unchecked. Object key layout is DESIGN.md "Object storage".
import { hasLoneSurrogate, utf8Length } from "./check.ts";

const MAX_PATH_LENGTH = 512;
/** Longest file name, in UTF-8 bytes: what file systems hold (ext4, NTFS) and the uploads.name column (255). */
export const MAX_FILE_NAME_BYTES = 255;

/**
 * Why `path` is not a safe relative path (forward slashes, no `..`, not absolute, no drive
 * letter, no control characters), or null when it is.
 */
export function relativePathProblem(path: unknown): string | null {
  if (typeof path !== "string" || path.length === 0) return "is empty";
  if (path.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return "contains a control character";
  // No UTF-8 form: a presigned URL (encodeURIComponent) and MySQL would fail on it.
  if (hasLoneSurrogate(path)) return "contains a lone surrogate";
  if (path.includes("\\")) return "contains a backslash";
  if (path.startsWith("/")) return "is absolute";
  if (/^[A-Za-z]:/.test(path)) return "starts with a drive letter";
  const segments = path.split("/");
  if (segments.includes("..")) return 'contains a ".." segment';
  if (segments.some((s) => s === "" || s === ".")) return "contains an empty or \".\" segment";
  return null;
}

/** Windows device names, which open a device instead of a file in any folder, extension or not. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³]) *(\..*)?$/i;

/**
 * Why a relative path (forward slashes) cannot be a file path on Windows, or null: a
 * device name in any segment (`nul.txt` too), a segment ending in a dot or space (Windows
 * drops them, so two names would land on one file), or a character Windows forbids (`:`
 * would open an alternate data stream). The agent checks the same before writing.
 */
export function windowsPathProblem(path: string): string | null {
  for (const segment of path.split("/")) {
    if (/[<>:"|?*]/.test(segment)) return `segment "${segment}" contains a character Windows forbids`;
    if (/[. ]$/.test(segment)) return `segment "${segment}" ends with a dot or space`;
    if (WINDOWS_DEVICE.test(segment)) return `segment "${segment}" is a reserved Windows device name`;
  }
  return null;
}

/**
 * Why `path` cannot be where an input lands in the attempt's input folder, or null. Any
 * agent may get the job, so a path must be safe on Windows as well as on Linux; refused
 * at submit, not when an agent has already taken the job.
 */
export function inputPathProblem(path: unknown): string | null {
  return relativePathProblem(path) ?? windowsPathProblem(path as string);
}

/** Why `name` is not a safe single file name, or null when it is. */
export function fileNameProblem(name: unknown): string | null {
  const problem = relativePathProblem(name);
  if (problem) return problem;
  if ((name as string).includes("/")) return "contains a slash";
  if (utf8Length(name as string) > MAX_FILE_NAME_BYTES) return `is longer than ${MAX_FILE_NAME_BYTES} bytes in UTF-8`;
  return null;
}

/** Key prefix every output and log of one attempt lives under. */
export function attemptPrefix(jobId: string, attemptId: string): string {
  return `jobs/${jobId}/${attemptId}/`;
}

/** Object key of an attempt's output file. */
export function outputKey(jobId: string, attemptId: string, path: string): string {
  return `${attemptPrefix(jobId, attemptId)}outputs/${path}`;
}

/** Object key of an attempt's log stream (`stdout`, `stderr`). */
export function logKey(jobId: string, attemptId: string, stream: string): string {
  return `${attemptPrefix(jobId, attemptId)}logs/${stream}.log`;
}

/** Object key of an uploaded input. */
export function inputKey(uploadId: string, name: string): string {
  return `inputs/${uploadId}/${name}`;
}

/** Why `key` is not acceptable as an input key, or null. */
export function inputKeyProblem(key: unknown): string | null {
  const problem = relativePathProblem(key);
  if (problem) return problem;
  return null;
}
