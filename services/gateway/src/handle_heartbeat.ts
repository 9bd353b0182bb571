// Heartbeats renew the agent's presence and the leases of the attempts it says it runs.
// A lease of its own that could not be renewed is gone: the agent is told to abort that
// attempt. Ids that were never its own are ignored (own_attempts.ts).
import { CLOSE_CODES, type HeartbeatMessage } from "@labbridge/protocol";
import { closeSocket, sendTo, type AgentSocket } from "./agent_sessions.ts";
import { leaseExpiry, type GatewayContext } from "./gateway_context.ts";
import { ownLostAttempts } from "./own_attempts.ts";

/** Handles one heartbeat. */
export async function handleHeartbeat(ctx: GatewayContext, ws: AgentSocket, msg: HeartbeatMessage): Promise<void> {
  const data = ws.getUserData();
  const agentId = data.agent!.id;
  const now = ctx.clock();
  const touched = await ctx.presence.touch(agentId, data.sessionId, now, leaseExpiry(ctx, now));
  if (touched === "replaced") {
    // Another connection of this agent took over: this one is the stale duplicate.
    closeSocket(ws, CLOSE_CODES.replaced, "replaced by a newer session");
    return;
  }
  if (touched === "expired") {
    // Heartbeats were missed long enough to count as gone: reconnect at once and say hello.
    closeSocket(ws, CLOSE_CODES.going_away, "session expired, reconnect");
    return;
  }
  const lost = await ownLostAttempts(ctx, ws, await ctx.leases.extend(agentId, msg.running, now, leaseExpiry(ctx, now)));
  for (const attemptId of lost) {
    ctx.log.info({ agent_id: agentId, attempt_id: attemptId }, "heartbeat for a lost lease, aborting attempt");
    sendTo(ws, { type: "attempt.abort", attempt_id: attemptId, reason: "lease_lost" }, ctx.metrics.sent);
  }
  // The agent's proof that the path back works; it reconnects when these stop coming.
  sendTo(ws, { type: "heartbeat.ack" }, ctx.metrics.sent);
}
