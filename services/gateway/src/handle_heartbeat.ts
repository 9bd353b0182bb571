// Heartbeats renew the agent's presence and the leases of the attempts it says it runs.
// A lease of its own that could not be renewed is gone: the agent is told to abort that
// attempt. Ids that were never its own are ignored (own_attempts.ts). The readings it
// carries (only what changed) are merged into the agent's live telemetry, which every
// heartbeat renews, in the same round trip as the presence renewal.
import { CLOSE_CODES, gpuInventoryOf, gpuReadingOf, type HeartbeatMessage } from "@labbridge/protocol";
import { appendEntry } from "@labbridge/streams";
import { closeSocket, sendTo, type AgentSocket } from "./agent_sessions.ts";
import { leaseExpiry, type GatewayContext } from "./gateway_context.ts";
import { heartbeatWindow } from "./heartbeat_window.ts";
import { ownLostAttempts } from "./own_attempts.ts";

/** Handles one heartbeat. */
export async function handleHeartbeat(ctx: GatewayContext, ws: AgentSocket, msg: HeartbeatMessage): Promise<void> {
  const data = ws.getUserData();
  const agentId = data.agent!.id;
  const now = ctx.clock();
  // Naming an attempt moves the session to the busy window at once; naming none, to the idle one.
  const window = heartbeatWindow(ctx.config, msg.running);
  // Sent together, answered together: ioredis writes both before either reply comes back.
  const [touched] = await Promise.all([
    ctx.presence.touch(agentId, data.sessionId, now, now + window.presenceTtlMs, window.intervalMs),
    ctx.telemetry.write(agentId, data.sessionId, {
      replace: msg.gpus !== undefined,
      gpus: msg.gpus ? msg.gpus.map(gpuReadingOf) : msg.g,
      host: msg.h,
    }, window.presenceTtlMs),
  ]);
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
  if (msg.gpus && data.online) await announceGpuChange(ctx, agentId, data.online, msg);
  // The agent's proof that the path back works; it reconnects when these stop coming.
  sendTo(ws, { type: "heartbeat.ack" }, ctx.metrics.sent);
}

// A GPU that appeared, went or was swapped: the scheduler records the new list through the
// path it already knows (agent.online of the same session, which it handles idempotently).
async function announceGpuChange(ctx: GatewayContext, agentId: string, online: Record<string, unknown>, msg: HeartbeatMessage): Promise<void> {
  const gpus = msg.gpus!.map(gpuInventoryOf);
  online.gpus = gpus;
  await appendEntry(ctx.redis, ctx.streams.agentEvents, { type: "agent.online", agent_id: agentId, data: { ...online, gpus_changed: true } });
  ctx.log.info({ agent_id: agentId, gpus: gpus.map((g) => g.name) }, "agent GPU list changed");
}
