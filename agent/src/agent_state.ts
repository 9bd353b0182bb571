// The state folder: agent.json (identity and credential) and work/<attempt_id>/ folders.
//
//   <state-dir>/agent.json            {servers, agent_id, credential, name}, mode 0600
//   <state-dir>/agent.lock            held (flock) by the one `run` process using the folder
//   <state-dir>/work/<attempt_id>/    inputs/ outputs/ logs/ process.json
//
// agent.json is written atomically (temp file, fsync, rename) so a power cut during
// enrollment never leaves a half-written credential behind. Files written before agents
// knew several gateways hold a single `server`; they still load, as a list of one.
import { join } from "node:path";
import { ID_PREFIX, isId } from "../../packages/protocol/src/index.ts";
import type { OsSeam } from "./os/os_seam.ts";
import { serverUrlProblem } from "./server_url.ts";

export interface AgentIdentity {
  /** Gateway addresses, in the order given at enrollment; never empty. */
  servers: string[];
  agent_id: string;
  credential: string;
  name: string;
}

export const AGENT_FILE = "agent.json";

export function agentFilePath(stateDir: string): string {
  return join(stateDir, AGENT_FILE);
}

export function workRoot(stateDir: string): string {
  return join(stateDir, "work");
}

export class StateError extends Error {
  override name = "StateError";
}

/** Reads agent.json; null when the agent is not enrolled; StateError when the file is damaged. */
export async function readIdentity(stateDir: string): Promise<AgentIdentity | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(agentFilePath(stateDir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new StateError(`${agentFilePath(stateDir)} is not valid JSON`);
  }
  const o = v as (Partial<AgentIdentity> & { server?: unknown }) | null;
  const servers = storedServers(o);
  if (
    !o || !servers || typeof o.credential !== "string" || !o.credential ||
    typeof o.name !== "string" || !isId(o.agent_id, ID_PREFIX.agent)
  ) {
    throw new StateError(`${agentFilePath(stateDir)} lacks servers, agent_id, credential or name`);
  }
  const bad = servers.find((s) => serverUrlProblem(s) !== null);
  if (bad !== undefined) throw new StateError(`${agentFilePath(stateDir)}: server "${bad}" ${serverUrlProblem(bad)}`);
  return { servers, agent_id: o.agent_id, credential: o.credential, name: o.name };
}

/** `servers`, or the one `server` of an older agent.json; null when neither is usable. */
function storedServers(o: { servers?: unknown; server?: unknown } | null): string[] | null {
  if (!o) return null;
  if (Array.isArray(o.servers)) {
    return o.servers.length > 0 && o.servers.every((s) => typeof s === "string") ? o.servers : null;
  }
  return typeof o.server === "string" ? [o.server] : null;
}

/** Writes agent.json owner-only (0600), atomically. */
export async function writeIdentity(stateDir: string, identity: AgentIdentity, os: OsSeam): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const final = agentFilePath(stateDir);
  const temp = `${final}.tmp-${crypto.randomUUID()}`;
  const data = new TextEncoder().encode(JSON.stringify(identity, null, 2) + "\n");
  const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
  try {
    let off = 0;
    while (off < data.length) off += await file.write(data.subarray(off));
    await file.sync();
  } finally {
    file.close();
  }
  try {
    // `mode` at creation is filtered by the umask; chmod makes 0600 exact.
    if (os.supportsChmod()) await Deno.chmod(temp, 0o600);
    await Deno.rename(temp, final);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

/**
 * Takes the state folder's run lock, or returns null when another agent process holds it.
 * Two agents on one folder would fight over the credential and each would treat the other's
 * work folders as left over from a crash. The lock is advisory (flock/LockFileEx) and is
 * released by the OS when the process dies; job processes do not inherit it (close-on-exec).
 */
export async function acquireRunLock(stateDir: string): Promise<Deno.FsFile | null> {
  const file = await Deno.open(join(stateDir, "agent.lock"), { read: true, write: true, create: true });
  if (await file.tryLock(true)) return file;
  file.close();
  return null;
}
