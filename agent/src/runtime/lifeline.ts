// The agent's lifeline to a wrapper process (scripts/agent.mjs, `npm run agent`). The
// wrapper starts the agent in a process group of its own, so a terminal's Ctrl+C reaches
// the agent once (through the wrapper) and not twice; the price is that killing the
// wrapper's group, even with SIGKILL, no longer reaches the agent. So the wrapper names
// itself with a leading `--lifeline-parent=<pid>`, and the agent stops (the same graceful
// stop as on SIGTERM) once its parent is no longer that process: the kernel re-parents an
// orphan at once, whatever killed the wrapper. Optional: the compiled agent under WinSW or
// systemd has no wrapper and no such argument.
import { sleep } from "./timers.ts";

const FLAG = "--lifeline-parent=";

/** How often the parent is checked; a stop then begins within this much of the wrapper's death. */
export const LIFELINE_POLL_MS = 250;

/** Takes a leading `--lifeline-parent=<pid>` off the arguments; parentPid is null without one. */
export function takeLifeline(argv: string[]): { parentPid: number | null; argv: string[] } {
  const first = argv[0];
  if (first === undefined || !first.startsWith(FLAG)) return { parentPid: null, argv };
  const pid = Number(first.slice(FLAG.length));
  // A malformed value is ignored rather than refused: the flag is the wrapper's, not the user's.
  return { parentPid: Number.isInteger(pid) && pid > 1 ? pid : null, argv: argv.slice(1) };
}

/**
 * Calls `onLost` once when this process's parent is no longer `parentPid` (already the case
 * at the call: the wrapper died while the agent started). Stops watching when `signal` aborts.
 */
export async function watchParent(parentPid: number, onLost: () => void, signal: AbortSignal, ppid: () => number = () => Deno.ppid): Promise<void> {
  while (!signal.aborted) {
    if (ppid() !== parentPid) {
      onLost();
      return;
    }
    await sleep(LIFELINE_POLL_MS, signal);
  }
}
