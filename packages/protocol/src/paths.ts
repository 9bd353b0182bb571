// Paths and object keys come from clients and agents; nothing reaches a file system or
// a bucket unchecked. Object key layout is DESIGN.md "Object storage".

const MAX_PATH_LENGTH = 512;

/**
 * Why `path` is not a safe relative path (forward slashes, no `..`, not absolute, no drive
 * letter, no control characters), or null when it is.
 */
export function relativePathProblem(path: unknown): string | null {
  if (typeof path !== "string" || path.length === 0) return "is empty";
  if (path.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return "contains a control character";
  if (path.includes("\\")) return "contains a backslash";
  if (path.startsWith("/")) return "is absolute";
  if (/^[A-Za-z]:/.test(path)) return "starts with a drive letter";
  const segments = path.split("/");
  if (segments.includes("..")) return 'contains a ".." segment';
  if (segments.some((s) => s === "" || s === ".")) return "contains an empty or \".\" segment";
  return null;
}

/** Why `name` is not a safe single file name, or null when it is. */
export function fileNameProblem(name: unknown): string | null {
  const problem = relativePathProblem(name);
  if (problem) return problem;
  if ((name as string).includes("/")) return "contains a slash";
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
