// Linux (and other POSIX) side of the OS seam.
//
// Kill-tree: a job is spawned with Deno.Command's `detached: true`, which on Unix calls
// setsid(), so the job's first process leads a new session and process group whose id
// equals its pid. Deno.kill(-pgid, sig) then signals every process in that group at once,
// including grandchildren that were re-parented to init when their parent died. A process
// that left the group on purpose (its own setsid/setpgid, e.g. a daemonising tool) is
// still found by walking /proc for descendants, which we snapshot repeatedly while killing.
// Each process is remembered with its start time, so a pid the kernel reuses for an
// unrelated process is never signalled.
//
// Deno 2 refuses to read anything under /proc without --allow-all (even with
// --allow-read), and the agent does not run with --allow-all. So /proc is read by a tiny
// `/bin/sh -c 'cat /proc/[0-9]*/stat'` child instead: --allow-run is needed for jobs
// anyway, and sh and cat exist on every Linux (ps does not, on slim images).
//
// Jobs of a job account (linux_jobs.ts): root may signal processes of any uid and read
// every /proc/<pid>/stat, status and environ, so killing them needs nothing extra; and
// every such process holds its attempt's own gid, which finds what left the group.
import { ATTEMPT_GID_BASE } from "../attempt/attempt_account.ts";
import { sleep } from "../runtime/timers.ts";
import { jobSpawn, ownFolder, resolveJobAccount } from "./linux_jobs.ts";
import { readConsoleIdleMs, runText } from "./linux_console_idle.ts";
import { runNvidiaSmi } from "./nvidia_smi.ts";
import type { OsSeam } from "./os_seam.ts";

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  /** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; with pid, a unique identity. */
  start: string;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so split after the last ")". */
export function parseProcStat(text: string): ProcInfo | null {
  const close = text.lastIndexOf(")");
  if (close === -1) return null;
  const pid = Number(text.slice(0, text.indexOf(" ")));
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const [state, ppid, pgid] = [rest[0], Number(rest[1]), Number(rest[2])];
  const start = rest[19];
  if (!state || !Number.isInteger(pid) || !Number.isInteger(ppid) || !Number.isInteger(pgid) || start === undefined) return null;
  return { pid, ppid, pgid, state, start };
}

/** Output of a helper command, or null when it cannot run. */
async function helperOutput(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout);
  } catch {
    return null;
  }
}

/** Parses concatenated /proc/<pid>/stat files (one line each). */
export function parseProcStats(text: string): Map<number, ProcInfo> {
  const procs = new Map<number, ProcInfo>();
  for (const line of text.split("\n")) {
    const info = line ? parseProcStat(line) : null;
    if (info) procs.set(info.pid, info);
  }
  return procs;
}

/** Every process visible in /proc, or null where there is no /proc (macOS) or no shell. */
/**
 * The pids of the job trees rooted at `roots`: each root's process group (a job starts as
 * its own group leader) and every descendant of a member, wherever it moved its group.
 */
export function jobTreePids(procs: Map<number, ProcInfo>, roots: number[]): Set<number> {
  const rootSet = new Set(roots);
  const inTree = new Map<number, boolean>();
  const walk = (pid: number): boolean => {
    const seen: number[] = [];
    let cur = procs.get(pid);
    let found = false;
    while (cur && !inTree.has(cur.pid) && seen.length < 4096) {
      if (rootSet.has(cur.pid) || rootSet.has(cur.pgid)) { found = true; break; }
      seen.push(cur.pid);
      cur = cur.ppid > 1 ? procs.get(cur.ppid) : undefined;
    }
    if (!found && cur && inTree.has(cur.pid)) found = inTree.get(cur.pid)!;
    for (const p of seen) inTree.set(p, found);
    if (cur && found) inTree.set(cur.pid, true);
    return found;
  };
  const pids = new Set(roots);
  for (const pid of procs.keys()) if (walk(pid)) pids.add(pid);
  return pids;
}

export async function readProcs(): Promise<Map<number, ProcInfo> | null> {
  // A process that ends between the glob and the read makes cat complain and exit 1; the
  // other files are still printed, so the exit status is ignored.
  const text = await helperOutput("/bin/sh", ["-c", "cat /proc/[0-9]*/stat 2>/dev/null"]);
  if (text === null) return null;
  const procs = parseProcStats(text);
  return procs.size > 0 ? procs : null;
}

/** The environment of `pid` as NAME=value strings ([] when it cannot be read). */
async function environOf(pid: number): Promise<string[]> {
  const text = await helperOutput("cat", [`/proc/${pid}/environ`]);
  return text ? text.split("\0") : [];
}

const identity = (p: ProcInfo) => `${p.pid}:${p.start}`;
const isLive = (p: ProcInfo | undefined) => p !== undefined && p.state !== "Z" && p.state !== "X";

function trySignal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // Already gone (ESRCH) or not ours: nothing to do.
  }
}

/**
 * Finds the job's processes: the group `pgid` plus descendants of its leader (followed
 * transitively), added to `known` (pid -> identity) so later snapshots still cover
 * processes whose parent already died.
 */
async function collectTree(pgid: number, known: Map<number, string>, followChildren: boolean): Promise<Map<number, ProcInfo> | null> {
  const procs = await readProcs();
  if (!procs) return null;
  const root = procs.get(pgid);
  // The root is trusted only while it still leads its own group: a reused pid would not.
  if (followChildren && root && root.pgid === pgid && !known.has(pgid)) known.set(pgid, identity(root));
  for (const p of procs.values()) if (p.pgid === pgid && !known.has(p.pid)) known.set(p.pid, identity(p));
  if (followChildren) {
    let grew = true;
    while (grew) {
      grew = false;
      for (const p of procs.values()) {
        const parent = procs.get(p.ppid);
        if (!known.has(p.pid) && parent && known.get(p.ppid) === identity(parent)) {
          known.set(p.pid, identity(p));
          grew = true;
        }
      }
    }
  }
  return procs;
}

/** Signals every known, still-identical, live member, plus the group as a whole. */
function signalTree(pgid: number, known: Map<number, string>, procs: Map<number, ProcInfo> | null, sig: Deno.Signal): number {
  trySignal(-pgid, sig);
  let live = 0;
  if (!procs) return 0;
  for (const [pid, id] of known) {
    const p = procs.get(pid);
    if (!isLive(p) || identity(p!) !== id) continue;
    live++;
    trySignal(pid, sig);
  }
  return live;
}

function liveCount(known: Map<number, string>, procs: Map<number, ProcInfo> | null): number {
  if (!procs) return 0;
  let n = 0;
  for (const [pid, id] of known) {
    const p = procs.get(pid);
    if (isLive(p) && identity(p!) === id) n++;
  }
  return n;
}

/** SIGTERM, wait up to graceMs for the tree to go, then SIGKILL whatever is left. */
async function terminateTree(pgid: number, graceMs: number, followChildren: boolean): Promise<void> {
  const known = new Map<number, string>();
  let procs = await collectTree(pgid, known, followChildren);
  if (signalTree(pgid, known, procs, "SIGTERM") === 0 && procs) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(100);
    procs = await collectTree(pgid, known, followChildren);
    if (procs && liveCount(known, procs) === 0) return;
  }
  procs = await collectTree(pgid, known, followChildren);
  signalTree(pgid, known, procs, "SIGKILL");
  // Wait (briefly) until the kernel has taken them, so callers can count on "gone".
  for (let i = 0; i < 40; i++) {
    procs = await collectTree(pgid, known, followChildren);
    if (!procs || liveCount(known, procs) === 0) return;
    await sleep(50);
  }
}

/**
 * Live pids whose real gid is `gid`, from /proc/<pid>/status (root may read every one).
 * A process cannot drop the attempt's gid without root, and a reused pid with that gid is
 * the attempt's too, so the gid alone is a safe identity.
 */
export async function pidsWithGid(gid: number): Promise<number[] | null> {
  const text = await helperOutput("/bin/sh", ["-c", "grep -H -e '^State:' -e '^Gid:' /proc/[0-9]*/status 2>/dev/null"]);
  if (text === null) return null;
  const state = new Map<number, string>();
  const pids: number[] = [];
  for (const line of text.split("\n")) {
    const m = /^\/proc\/(\d+)\/status:(State|Gid):\s+(\S+)/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    if (m[2] === "State") state.set(pid, m[3]!);
    else if (Number(m[3]) === gid) pids.push(pid);
  }
  return pids.filter((pid) => state.get(pid) !== "Z" && state.get(pid) !== "X");
}

/**
 * Ends every process holding the attempt's own gid: what escaped the process group and the
 * parent links (a double fork, its own setsid) before the first snapshot. SIGTERM, then
 * SIGKILL after `graceMs`. Only gids of the per-attempt range: never a real group.
 */
async function terminateAttemptGid(gid: number | null | undefined, graceMs: number): Promise<void> {
  if (typeof gid !== "number" || gid < ATTEMPT_GID_BASE) return;
  let pids = await pidsWithGid(gid);
  if (!pids || pids.length === 0) return;
  for (const pid of pids) trySignal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids && pids.length > 0) {
    await sleep(100);
    pids = await pidsWithGid(gid);
  }
  for (let i = 0; i < 40 && pids && pids.length > 0; i++) {
    for (const pid of pids) trySignal(pid, "SIGKILL");
    await sleep(50);
    pids = await pidsWithGid(gid);
  }
}

/** True when the environment of `pid` holds LB_ATTEMPT_ID=<attemptId>: proof the process is that attempt's. */
async function belongsToAttempt(pid: number, attemptId: string): Promise<boolean> {
  return (await environOf(pid)).includes(`LB_ATTEMPT_ID=${attemptId}`);
}

export const linuxSeam: OsSeam = {
  platformName: () => Deno.build.os,
  resolveJobAccount,
  jobSpawn,
  ownFolder,
  async killTree(pid, graceMs, runAs) {
    await terminateTree(pid, graceMs, true);
    await terminateAttemptGid(runAs?.gid, graceMs);
  },
  // The leader is gone and its pid may be reused: only the group id and the attempt's own
  // gid are trusted now.
  async killLeftovers(pid, runAs) {
    await terminateTree(pid, 2_000, false);
    await terminateAttemptGid(runAs?.gid, 2_000);
  },
  async killStale(pid, attemptId, gid) {
    const procs = await readProcs();
    if (!procs) return 0;
    const members = [];
    for (const p of procs.values()) {
      if (p.pgid === pid && isLive(p) && (await belongsToAttempt(p.pid, attemptId))) members.push(p);
    }
    if (members.length > 0) await terminateTree(pid, 2_000, false);
    // What left the group still holds the attempt's gid (a job account's attempt only).
    const strays = typeof gid === "number" && gid >= ATTEMPT_GID_BASE ? (await pidsWithGid(gid))?.length ?? 0 : 0;
    await terminateAttemptGid(gid, 2_000);
    return Math.max(members.length, strays);
  },
  readGpus: () => runNvidiaSmi(["nvidia-smi"]),
  async jobProcessIds(roots) {
    const procs = roots.length > 0 ? await readProcs() : null;
    return procs ? jobTreePids(procs, roots) : new Set(roots);
  },
  // SIGHUP: the terminal closed (an SSH session dropped); stopping cleanly beats dying with the job trees orphaned.
  shutdownSignals: () => ["SIGINT", "SIGTERM", "SIGHUP"],
  localPathProblem: () => null,
  // Both files were created 0600 by the agent's account; the owner reads them through sudo.
  restrictControlFiles: () => Promise.resolve(),
  // The agent reads logind itself (consoleIdleMs); there is no per-session reporter on Linux.
  userIdleReader: () => null,
  consoleIdleMs: () => readConsoleIdleMs(runText, Date.now()),
  supportsChmod: () => true,
};
