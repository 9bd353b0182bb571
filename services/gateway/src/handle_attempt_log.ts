// attempt.log: live log lines of a running attempt, forwarded as one job.log entry on the
// job-events stream the API's live view reads (docs/decisions/0029). Best effort and never
// in MySQL; only the agent holding the attempt's live lease may send them, and each
// attempt's lines and bytes stay within LOG_ALLOWANCE or the session is cut (4429).
import { type JobLogData, LOG_ALLOWANCE, type LogMessage } from "@labbridge/protocol";
import { appendEntry, Leases } from "@labbridge/streams";
import type { AgentSocket } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";
import { logLoad } from "./log_allowance.ts";

/** What handleLog did with a frame, for the socket handler. */
export type LogOutcome = "forwarded" | "not_leased" | "over_allowance";

/** Forwards one frame of live log lines; "over_allowance" tells the caller to cut the session. */
export async function handleLog(ctx: GatewayContext, ws: AgentSocket, msg: LogMessage): Promise<LogOutcome> {
  const data = ws.getUserData();
  const agentId = data.agent!.id;
  const now = ctx.clock();
  const lines = [...(msg.stdout ?? []), ...(msg.stderr ?? [])];
  // Charged before the lease look-up, so a flood costs no Redis round trip past its allowance.
  const load = logLoad(lines);
  if (!data.logAllowances.allow(msg.attempt_id, load, now)) {
    ctx.log.warn({ agent_id: agentId, session_id: data.sessionId, attempt_id: msg.attempt_id, lines: load.lines, bytes: load.bytes,
      allowance: LOG_ALLOWANCE }, "live log over its allowance");
    return "over_allowance";
  }
  const lease = await ctx.leases.get(msg.attempt_id);
  if (!lease || lease.agentId !== agentId || !Leases.isLive(lease, now)) return "not_leased";
  const logData: JobLogData = {};
  if (msg.stdout?.length) logData.stdout = msg.stdout;
  if (msg.stderr?.length) logData.stderr = msg.stderr;
  if (msg.skipped && (msg.skipped.stdout || msg.skipped.stderr)) logData.skipped = msg.skipped;
  ctx.metrics.logLines.inc(load.lines);
  ctx.metrics.logSkipped.inc((msg.skipped?.stdout ?? 0) + (msg.skipped?.stderr ?? 0));
  if (!logData.stdout && !logData.stderr) return "forwarded";
  await appendEntry(ctx.redis, ctx.streams.jobEvents, {
    type: "job.log", job_id: lease.jobId, attempt_id: msg.attempt_id, agent_id: agentId, ts: new Date(now).toISOString(), data: { ...logData },
  });
  return "forwarded";
}
