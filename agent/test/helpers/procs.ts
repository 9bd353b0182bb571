// Looks at real processes (Linux), to prove a job tree is really gone. Deno refuses to read
// /proc without --allow-all, so this goes through small helper processes, as the agent does.
import { readProcs } from "../../src/os/linux.ts";

/** True while `pid` exists and is not a zombie (a zombie has already died). */
export async function isAlive(pid: number): Promise<boolean> {
  const p = (await readProcs())?.get(pid);
  return p !== undefined && p.state !== "Z" && p.state !== "X";
}

/** Live pids whose environment carries LB_ATTEMPT_ID=<attemptId>: the attempt's whole tree, escaped members included. */
export async function pidsOfAttempt(attemptId: string): Promise<number[]> {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", 'grep -l -z -x "LB_ATTEMPT_ID=$1" /proc/[0-9]*/environ 2>/dev/null; true', "sh", attemptId],
    stdout: "piped",
    stderr: "null",
  }).output();
  const pids = new TextDecoder().decode(out.stdout).split("\n").map((l) => /^\/proc\/(\d+)\/environ$/.exec(l)?.[1]).filter((x) => x !== undefined).map(Number);
  const live: number[] = [];
  for (const pid of pids) if (await isAlive(pid)) live.push(pid);
  return live;
}
