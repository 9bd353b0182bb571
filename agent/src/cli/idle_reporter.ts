// `labbridge-agent idle-reporter --state-dir <dir>`: runs in a user's desktop session (the
// installer registers it as a logon task for every user) and tells the agent service how
// long this session has been idle, every REPORT_MS, through the local endpoint with the
// idle-report token (docs/decisions/0034-console-activity.md). It holds no state: the port
// and token are read again for each report, so it follows an agent that restarted. Errors
// (no agent running yet) are retried quietly; it ends with its session.
import type { Logger } from "../runtime/log.ts";
import type { OsSeam } from "../os/os_seam.ts";
import { readIdleReportInfo } from "../control/control_file.ts";
import { jittered } from "../session/backoff.ts";
import { sleep } from "../runtime/timers.ts";

/** How often a session reports: well under the policy's "active within" window (60 s by default). */
export const REPORT_MS = 15_000;

/** Sends one idle report; false when no agent took it. */
export async function reportIdleOnce(stateDir: string, idleMs: number, session: string | null): Promise<boolean> {
  const info = await readIdleReportInfo(stateDir).catch(() => null);
  if (!info) return false;
  try {
    const res = await fetch(`http://127.0.0.1:${info.port}/v1/idle`, {
      method: "POST",
      headers: { authorization: `Bearer ${info.token}`, "content-type": "application/json" },
      body: JSON.stringify({ idle_seconds: Math.round(idleMs / 1000), session }),
      signal: AbortSignal.timeout(5_000),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

export async function idleReporterCommand(
  args: { stateDir: string },
  deps: { os: Pick<OsSeam, "userIdleReader">; log: Logger; signal?: AbortSignal; reportMs?: number },
): Promise<number> {
  const read = deps.os.userIdleReader();
  if (!read) {
    deps.log.error("idle-reporter cannot read this session's idle time here: it runs in a Windows desktop session");
    return 1;
  }
  const session = Deno.env.get("USERNAME") ?? Deno.env.get("USER") ?? null;
  let ok: boolean | null = null;
  while (!deps.signal?.aborted) {
    const sent = await reportIdleOnce(args.stateDir, read(), session);
    if (sent !== ok) deps.log.info(sent ? "reporting idle time to the agent" : "agent not reachable; will keep trying", { state_dir: args.stateDir });
    ok = sent;
    await sleep(jittered(deps.reportMs ?? REPORT_MS, 0.1), deps.signal);
  }
  return 0;
}
