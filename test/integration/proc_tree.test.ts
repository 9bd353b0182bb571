// The harness ends what it started by pid: real processes, real signals. An identical
// command line that the harness did not start must survive, which a pattern match
// (matching command lines) would not allow.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { startChild, type Child } from "../harness/child_process.ts";
import { descendantsOf, killTreeAtOnce, readProc, stillAlive, type Proc } from "../harness/proc_tree.ts";
import { waitFor } from "../harness/test_env.ts";

let dir: string;
const started: Child[] = [];
const strangers: Proc[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lb-proc-tree-"));
});

afterEach(async () => {
  for (const c of started.splice(0)) killTreeAtOnce([...c.leftovers, ...(c.self() ? [c.self()!] : [])].filter(stillAlive));
  killTreeAtOnce(strangers.splice(0).filter(stillAlive));
  rmSync(dir, { recursive: true, force: true });
});

// A tree like a job's: a background child, one that leaves the session (setsid), a foreground one.
const TREE = (tag: string) => `sleep 300 & setsid sleep 301 & sleep 302; : ${tag}`;

function start(script: string): Child {
  const child = startChild("tree", "sh", ["-c", script], { env: {}, cwd: dir, logFile: join(dir, "tree.log") });
  started.push(child);
  return child;
}

async function treeOf(child: Child, count: number): Promise<Proc[]> {
  return waitFor(() => {
    const self = child.self();
    const below = self ? descendantsOf([self]) : [];
    return below.length >= count && below;
  }, 10_000, `${count} processes below ${child.name}`);
}

/** A process with the same command line that the harness did not start as part of the tree. */
function stranger(tag: string): Proc {
  const proc = spawn("sh", ["-c", TREE(tag)], { stdio: "ignore" });
  const self = readProc(proc.pid!);
  expect(self).not.toBeNull();
  strangers.push(self!);
  return self!;
}

it("killWithTree kills a child and every process below it, the one that left its session included", async () => {
  const child = start(TREE("kill-with-tree"));
  const below = await treeOf(child, 3);
  const other = stranger("kill-with-tree");
  const killed = await child.killWithTree();
  expect(killed.length).toBe(4);
  await waitFor(() => !below.some(stillAlive), 5000, "the tree gone");
  expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
  expect(stillAlive(other), "a process with the same command line, not below the child").toBe(true);
});

it("a SIGKILLed child's processes outlive it, noted as leftovers, and are ended later by those pids only", async () => {
  const child = start(TREE("leftovers"));
  const below = await treeOf(child, 3);
  const other = stranger("leftovers");
  await child.stop("SIGKILL");
  // As on a real machine, the jobs of a killed agent keep running.
  expect(below.every(stillAlive)).toBe(true);
  expect(child.leftovers.map((p) => p.pid).sort()).toEqual(below.map((p) => p.pid).sort());
  killTreeAtOnce(child.leftovers.filter(stillAlive));
  await waitFor(() => !below.some(stillAlive), 5000, "the leftovers gone");
  expect(stillAlive(other), "a process with the same command line, not a leftover").toBe(true);
});
