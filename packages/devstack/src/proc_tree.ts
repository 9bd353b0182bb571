// The process tree below a pid the harness itself spawned, read from /proc (Linux). The
// harness ends what it started by pid, never by a pattern over every process on the
// machine: other tests and other people's processes share it. Each process is held with
// its start time, so a pid the kernel reuses for an unrelated process is never signalled.
import { readdirSync, readFileSync } from "node:fs";

/** One process: pid, parent, and start time (field 22 of /proc/<pid>/stat) as its identity. */
export interface Proc {
  pid: number;
  ppid: number;
  start: string;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so split after the last ")". */
function parseStat(text: string): (Proc & { state: string }) | null {
  const close = text.lastIndexOf(")");
  if (close === -1) return null;
  const rest = text.slice(close + 2).split(" ");
  const pid = Number(text.slice(0, text.indexOf(" ")));
  const ppid = Number(rest[1]);
  const start = rest[19];
  if (!rest[0] || !Number.isInteger(pid) || !Number.isInteger(ppid) || start === undefined) return null;
  return { pid, ppid, start, state: rest[0] };
}

/** The process `pid` as it is now, or null when it is gone or a zombie (already dead). */
export function readProc(pid: number): Proc | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ESRCH") return null;
    throw err;
  }
  const p = parseStat(text);
  if (!p) throw new Error(`Cannot parse /proc/${pid}/stat: "${text}"`);
  return p.state === "Z" || p.state === "X" ? null : { pid: p.pid, ppid: p.ppid, start: p.start };
}

/** Every live process, by pid; one that ends while it is read is left out. */
function snapshot(): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) procs.set(p.pid, p);
  }
  return procs;
}

/** True while `p` still runs as the very process it was (same pid and start time). */
export function stillAlive(p: Proc): boolean {
  return readProc(p.pid)?.start === p.start;
}

/** The live descendants of the processes in `roots` (children of children…), roots excluded. */
export function descendantsOf(roots: Proc[]): Proc[] {
  const procs = snapshot();
  const known = new Map(roots.filter((r) => procs.get(r.pid)?.start === r.start).map((r) => [r.pid, r]));
  const found: Proc[] = [];
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of procs.values()) {
      if (known.has(p.pid) || !known.has(p.ppid)) continue;
      known.set(p.pid, p);
      found.push(p);
      grew = true;
    }
  }
  return found;
}

/** The cmdline of `p` as one string (arguments joined by spaces), or null once it is gone. */
export function cmdlineOf(p: Proc): string | null {
  try {
    const text = readFileSync(`/proc/${p.pid}/cmdline`, "utf8");
    return stillAlive(p) ? text.split("\0").join(" ") : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ESRCH") return null;
    throw err;
  }
}

function signal(p: Proc, sig: NodeJS.Signals): void {
  if (!stillAlive(p)) return;
  try {
    process.kill(p.pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/**
 * SIGKILLs `roots` and every descendant at once, as a power cut would: the tree is frozen
 * first (SIGSTOP, pass after pass until no new child appears), so nothing in it can start
 * a process that escapes, then every member is killed. Returns the members killed.
 */
export function killTreeAtOnce(roots: Proc[]): Proc[] {
  const members = roots.filter(stillAlive);
  members.forEach((p) => signal(p, "SIGSTOP"));
  for (;;) {
    const seen = new Set(members.map((p) => `${p.pid}:${p.start}`));
    const fresh = descendantsOf(members).filter((p) => !seen.has(`${p.pid}:${p.start}`));
    if (fresh.length === 0) break;
    fresh.forEach((p) => signal(p, "SIGSTOP"));
    members.push(...fresh);
  }
  members.forEach((p) => signal(p, "SIGKILL"));
  return members;
}
