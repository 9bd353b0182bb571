// Turning protocol paths (forward slashes, relative) into local file paths. Every path
// from the gateway is checked again here even though the API checked it: the agent writes
// to a lab workstation's disk and must never be talked into writing outside its folder.
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { relativePathProblem } from "../../../packages/protocol/src/index.ts";
import type { OsSeam } from "../os/os_seam.ts";

export class UnsafePathError extends Error {
  override name = "UnsafePathError";
}

/** `base` joined with the relative protocol path `rel`, or UnsafePathError. */
export function resolveInside(base: string, rel: string, os: OsSeam): string {
  const problem = relativePathProblem(rel) ?? os.localPathProblem(rel);
  if (problem) throw new UnsafePathError(`path "${rel}" ${problem}`);
  const full = resolve(base, join(...rel.split("/")));
  // Belt and braces: after joining, the result must still be under base.
  const back = relative(resolve(base), full);
  if (back === "" || isAbsolute(back) || back.split(sep).includes("..")) {
    throw new UnsafePathError(`path "${rel}" leaves its folder`);
  }
  return full;
}

/** A local relative path (any separator) as a protocol path with forward slashes. */
export function toProtocolPath(localRel: string): string {
  return localRel.split(sep).join("/");
}
