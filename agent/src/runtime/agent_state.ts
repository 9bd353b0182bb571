// The state folder: agent.json (identity, credential, job settings) and the run lock.
//
//   <state-dir>/agent.json            {servers, agent_id, credential, name, work_dir, job_user, pass_env, proxy, no_proxy}, 0600
//   <state-dir>/agent.lock            held (flock) by the one `run` process using the folder
//   <state-dir>/pause.json            the owner's pause, the automatic ones and the snooze (control/pause_state.ts)
//   <state-dir>/control.json          the local control endpoint's port and token, while `run` runs (control/control_file.ts)
//   <state-dir>/idle-report.json      the narrower token the per-session idle reporter uses
//   <work-dir>/<attempt_id>/          inputs/ outputs/ logs/ home/ tmp/ process.json (work_dir.ts)
//
// The state folder is 0700 and jobs never run inside it: the work folders live in a
// sibling (`<state-dir>-work` unless --work-dir says otherwise), so a job that walks up
// from its folder finds no credential (docs/decisions/0009-job-account-and-folders.md).
// agent.json is written atomically (temp file, fsync, rename) so a power cut during
// enrollment never leaves a half-written credential behind. Files written before agents
// knew several gateways hold a single `server`; they still load, as a list of one.
import { join, relative, resolve } from "node:path";
import { ID_PREFIX, isId } from "../../../packages/protocol/src/index.ts";
import type { OsSeam } from "../os/os_seam.ts";
import { serverUrlProblem } from "../session/server_url.ts";
import { readJsonFile } from "./json_file.ts";
import { type StoredYieldPolicy, storedYieldProblem } from "../control/yield_policy.ts";

export interface AgentIdentity {
  /** Gateway addresses, in the order given at enrollment; never empty. */
  servers: string[];
  agent_id: string;
  credential: string;
  name: string;
  /** Absolute folder holding the attempts' work folders; absent in older files (defaultWorkRoot). */
  work_dir?: string;
  /** The account jobs run as where the agent is privileged; absent: DEFAULT_JOB_USER. */
  job_user?: string;
  /** Names of the agent's environment variables jobs also get; absent: none. */
  pass_env?: string[];
  /** HTTP proxy for the gateway and transfers ("none": direct); absent: the environment's HTTPS_PROXY. */
  proxy?: string;
  /** NO_PROXY list; absent: the environment's. */
  no_proxy?: string;
  /** How the agent yields to the workstation's user (control/yield_policy.ts); absent: the defaults. */
  yield?: StoredYieldPolicy;
  /** The account (DOMAIN\\user or *SID) the admin lets read control.json, so the owner can pause without admin rights; absent: administrators only. */
  control_owner?: string;
  /** The local control endpoint's port on 127.0.0.1; absent: any free port (written to control.json). */
  control_port?: number;
}

/** The job account `--job-user` defaults to. */
export const DEFAULT_JOB_USER = "labbridge-job";

export const AGENT_FILE = "agent.json";

export function agentFilePath(stateDir: string): string {
  return join(stateDir, AGENT_FILE);
}

/** The work folder's default: a sibling of the state folder, never inside it. */
export function defaultWorkRoot(stateDir: string): string {
  return `${resolve(stateDir)}-work`;
}

/** Where agents before 0009 put work folders (inside the state folder); swept at startup. */
export function legacyWorkRoot(stateDir: string): string {
  return join(stateDir, "work");
}

/** Why `workRoot` cannot hold jobs' folders for `stateDir` (one inside the other), or null. */
export function workRootProblem(stateDir: string, workRoot: string): string | null {
  const inside = (child: string, parent: string) => {
    const rel = relative(resolve(parent), resolve(child));
    return rel === "" || (!rel.startsWith("..") && !/^[A-Za-z]:/.test(rel) && !rel.startsWith("/"));
  };
  if (inside(workRoot, stateDir)) return `work folder "${workRoot}" is inside the state folder "${stateDir}": jobs could reach the credential`;
  if (inside(stateDir, workRoot)) return `state folder "${stateDir}" is inside the work folder "${workRoot}"`;
  return null;
}

export class StateError extends Error {
  override name = "StateError";
}

/** Reads agent.json; null when the agent is not enrolled; StateError when the file is damaged. */
export async function readIdentity(stateDir: string): Promise<AgentIdentity | null> {
  const read = await readJsonFile(agentFilePath(stateDir), () => {
    throw new StateError(`${agentFilePath(stateDir)} is not valid JSON`);
  });
  if (read === null) return null;
  const o = read.value as (Partial<AgentIdentity> & { server?: unknown }) | null;
  const servers = storedServers(o);
  if (
    !o || !servers || typeof o.credential !== "string" || !o.credential ||
    typeof o.name !== "string" || !isId(o.agent_id, ID_PREFIX.agent)
  ) {
    throw new StateError(`${agentFilePath(stateDir)} lacks servers, agent_id, credential or name`);
  }
  const bad = servers.find((s) => serverUrlProblem(s) !== null);
  if (bad !== undefined) throw new StateError(`${agentFilePath(stateDir)}: server "${bad}" ${serverUrlProblem(bad)}`);
  const identity: AgentIdentity = { servers, agent_id: o.agent_id, credential: o.credential, name: o.name };
  if (o.work_dir !== undefined) {
    if (typeof o.work_dir !== "string" || o.work_dir === "") throw new StateError(`${agentFilePath(stateDir)}: work_dir must be a folder path`);
    identity.work_dir = o.work_dir;
  }
  if (o.job_user !== undefined) {
    if (typeof o.job_user !== "string" || o.job_user === "") throw new StateError(`${agentFilePath(stateDir)}: job_user must be an account name`);
    identity.job_user = o.job_user;
  }
  if (o.pass_env !== undefined) {
    if (!Array.isArray(o.pass_env) || !o.pass_env.every((n) => typeof n === "string" && n !== "")) {
      throw new StateError(`${agentFilePath(stateDir)}: pass_env must be a list of variable names`);
    }
    identity.pass_env = o.pass_env;
  }
  for (const field of ["proxy", "no_proxy"] as const) {
    if (o[field] === undefined) continue;
    if (typeof o[field] !== "string") throw new StateError(`${agentFilePath(stateDir)}: ${field} must be a string`);
    identity[field] = o[field];
  }
  if (o.yield !== undefined) {
    const problem = storedYieldProblem(o.yield);
    if (problem) throw new StateError(`${agentFilePath(stateDir)}: ${problem}`);
    identity.yield = o.yield;
  }
  if (o.control_owner !== undefined) {
    if (typeof o.control_owner !== "string" || !/^(\*S-1-[0-9-]+|[A-Za-z0-9._ -]+(\\[A-Za-z0-9._ $-]+)?)$/.test(o.control_owner)) {
      throw new StateError(`${agentFilePath(stateDir)}: control_owner "${String(o.control_owner)}" must be an account name or *SID`);
    }
    identity.control_owner = o.control_owner;
  }
  if (o.control_port !== undefined) {
    if (!Number.isInteger(o.control_port) || o.control_port < 1 || o.control_port > 65535) throw new StateError(`${agentFilePath(stateDir)}: control_port must be a port number`);
    identity.control_port = o.control_port;
  }
  return identity;
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
 * Makes the state folder owner-only again at every start (0700, agent.json 0600): an older
 * agent kept job folders inside it, and an admin may have widened it by hand.
 */
export async function lockDownStateDir(stateDir: string, os: OsSeam): Promise<void> {
  if (!os.supportsChmod()) return;
  await Deno.chmod(stateDir, 0o700);
  await Deno.chmod(agentFilePath(stateDir), 0o600);
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
