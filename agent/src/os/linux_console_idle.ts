// Console idle time on Linux, best effort, from systemd-logind: for each local user session
// (not an SSH login), IdleHint and IdleSinceHint (microseconds since the epoch, set by the
// desktop or, for a text console, from the tty's last use). The agent asks logind itself:
// unlike Windows' session 0 it can see every session. Boxes without logind (containers,
// other init systems) report nothing, and only the other yield signals apply.
//
//   loginctl list-sessions --no-legend                 → "  2 1000 alice seat0 tty2 ..."
//   loginctl show-session 2 -p Class -p Remote -p IdleHint -p IdleSinceHint
//                                                      → "Class=user\nRemote=no\nIdleHint=no\nIdleSinceHint=0"
//                                                        (one block per session, blank line between)
// Parsed from the documented property format; not yet checked against a capture from a
// desktop box (docs/decisions/0034-console-activity.md).

/** Runs a program; null when it is missing or failed. */
export type RunText = (program: string, args: string[]) => Promise<string | null>;

/** The session ids `loginctl list-sessions --no-legend` lists. */
export function parseSessionIds(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0] ?? "").filter((id) => /^[A-Za-z0-9_-]{1,32}$/.test(id));
}

/** `show-session -p …` output: one property map per session (blocks split by blank lines). */
export function parseSessionProperties(text: string): Record<string, string>[] {
  return text.split(/\r?\n\s*\r?\n/).map((block) => {
    const props: Record<string, string> = {};
    for (const line of block.split(/\r?\n/)) {
      const eq = line.indexOf("=");
      if (eq > 0) props[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
    return props;
  }).filter((p) => Object.keys(p).length > 0);
}

/** The shortest idle time of the local user sessions at `nowMs`, or null when there is none to judge. */
export function consoleIdleMsOf(sessions: Record<string, string>[], nowMs: number): number | null {
  let best: number | null = null;
  for (const s of sessions) {
    if (s.Class !== "user" || s.Remote === "yes") continue;
    let idle: number | null = null;
    if (s.IdleHint === "no") idle = 0;
    else if (s.IdleHint === "yes" && /^\d+$/.test(s.IdleSinceHint ?? "") && Number(s.IdleSinceHint) > 0) {
      idle = Math.max(0, nowMs - Math.floor(Number(s.IdleSinceHint) / 1000));
    }
    if (idle !== null && (best === null || idle < best)) best = idle;
  }
  return best;
}

/** Asks logind; null without logind or without a local user session. */
export async function readConsoleIdleMs(run: RunText, nowMs: number): Promise<number | null> {
  const list = await run("loginctl", ["list-sessions", "--no-legend"]);
  const ids = list === null ? [] : parseSessionIds(list);
  if (ids.length === 0) return null;
  const shown = await run("loginctl", ["show-session", ...ids, "-p", "Class", "-p", "Remote", "-p", "IdleHint", "-p", "IdleSinceHint"]);
  return shown === null ? null : consoleIdleMsOf(parseSessionProperties(shown), nowMs);
}

/** The real RunText: Deno.Command, no shell, a short timeout. */
export const runText: RunText = async (program, args) => {
  try {
    const out = await new Deno.Command(program, { args, stdin: "null", stdout: "piped", stderr: "null", signal: AbortSignal.timeout(5_000) }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
};
