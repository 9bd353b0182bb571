// attempt.log: live log lines of a running attempt, forwarded as one job.log entry on the
// job-events stream the API's live view reads (docs/decisions/0029). Best effort and never
// in MySQL; only the agent holding the attempt's live lease may send them. Each attempt's
// lines and bytes were held to LOG_ALLOWANCE at the edge already (socket_handlers.ts).
import type { JobLogData, LogMessage } from "@labbridge/protocol";
import { appendEntry, Leases } from "@labbridge/streams";
import type { AgentSocket } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";

/** Forwards one frame of live log lines if this agent holds the attempt's live lease; a frame for any other attempt is dropped. */
export async function handleLog(ctx: GatewayContext, ws: AgentSocket, msg: LogMessage): Promise<"forwarded" | "not_leased"> {
  const agentId = ws.getUserData().agent!.id;
  const now = ctx.clock();
  const lease = await ctx.leases.get(msg.attempt_id);
  if (!lease || lease.agentId !== agentId || !Leases.isLive(lease, now)) return "not_leased";
  const logData: JobLogData = {};
  if (msg.stdout?.length) logData.stdout = msg.stdout;
  if (msg.stderr?.length) logData.stderr = msg.stderr;
  if (msg.skipped && (msg.skipped.stdout || msg.skipped.stderr)) logData.skipped = msg.skipped;
  ctx.metrics.logLines.inc((msg.stdout?.length ?? 0) + (msg.stderr?.length ?? 0));
  ctx.metrics.logSkipped.inc((msg.skipped?.stdout ?? 0) + (msg.skipped?.stderr ?? 0));
  if (!logData.stdout && !logData.stderr) return "forwarded";
  await appendEntry(ctx.redis, ctx.streams.jobEvents, {
    type: "job.log", job_id: lease.jobId, attempt_id: msg.attempt_id, agent_id: agentId, ts: new Date(now).toISOString(), data: { ...logData },
  });
  return "forwarded";
}
