// Where the local control endpoint is and the secrets that open it, in the state folder:
//
//   <state>/control.json       {port, token, pid}: full control (pause, resume, snooze, status).
//                              POSIX 0600; Windows SYSTEM + Administrators, plus the
//                              workstation owner's account when agent.json names one
//                              (`control_owner`), through the OS seam.
//   <state>/idle-report.json   {port, token}: may only report idle time (POST /v1/idle).
//                              Readable by interactive users on Windows, so the per-session
//                              reporter started at logon can use it; the worst it allows
//                              is claiming someone is at the console, which pauses the agent
//                              (what that person could do at the keyboard anyway).
//
// Both are rewritten with fresh tokens at every start, so a token from an earlier run is dead.
import { join } from "node:path";
import { readJsonFile } from "../runtime/json_file.ts";

export const CONTROL_FILE = "control.json";
export const IDLE_REPORT_FILE = "idle-report.json";

/** What control.json holds. */
export interface ControlInfo {
  port: number;
  token: string;
  pid: number;
}

/** What idle-report.json holds. */
export interface IdleReportInfo {
  port: number;
  token: string;
}

export const controlFilePath = (stateDir: string) => join(stateDir, CONTROL_FILE);
export const idleReportFilePath = (stateDir: string) => join(stateDir, IDLE_REPORT_FILE);

/** A new random token (256 bits, base64url). */
export function newControlToken(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Writes `value` as JSON, created owner-only (0600 where the OS has modes), replacing any earlier file. */
export async function writeSecretFile(path: string, value: unknown, chmod: boolean): Promise<void> {
  const temp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(temp, JSON.stringify(value) + "\n", { mode: 0o600, createNew: true });
  try {
    if (chmod) await Deno.chmod(temp, 0o600); // the umask may have widened nothing, but be exact
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

/** Reads control.json; null when there is none (the agent is not running, or never ran). */
export async function readControlInfo(stateDir: string): Promise<ControlInfo | null> {
  return await readJson(controlFilePath(stateDir), (o) =>
    Number.isInteger(o.port) && typeof o.token === "string" && Number.isInteger(o.pid)
      ? { port: o.port as number, token: o.token as string, pid: o.pid as number }
      : null);
}

/** Reads idle-report.json; null when there is none. */
export async function readIdleReportInfo(stateDir: string): Promise<IdleReportInfo | null> {
  return await readJson(idleReportFilePath(stateDir), (o) =>
    Number.isInteger(o.port) && typeof o.token === "string" ? { port: o.port as number, token: o.token as string } : null);
}

// A damaged file counts as none: the agent rewrites both at start, and a caller that finds
// none says the agent is not running.
async function readJson<T>(path: string, shape: (o: Record<string, unknown>) => T | null): Promise<T | null> {
  const read = await readJsonFile(path, () => null);
  const o = read?.value;
  return typeof o === "object" && o !== null ? shape(o as Record<string, unknown>) : null;
}

/** Removes both files (the agent stops: nobody should find a dead port). */
export async function removeControlFiles(stateDir: string): Promise<void> {
  await Deno.remove(controlFilePath(stateDir)).catch(() => {});
  await Deno.remove(idleReportFilePath(stateDir)).catch(() => {});
}
