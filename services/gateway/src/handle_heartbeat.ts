// Heartbeats renew the agent's presence and the leases of the attempts it says it runs.
// A lease of its own that could not be renewed is gone: the agent is told to abort that
// attempt. Ids that were never its own are ignored (own_attempts.ts). The readings it
// carries (only what changed) are merged into the agent's live telemetry, which every
// heartbeat renews. Presence and readings of all heartbeats of one turn are renewed in one
// Redis round trip (heartbeat_batch.ts); the naming of attempts picks the session's window.
import { CLOSE_CODES, gpuInventoryOf, gpuReadingOf, type HeartbeatMessage, type ServerMessage } from "@labbridge/protocol";
import { encodeFrame } from "@labbridge/protocol/frame_codec";
import { appendEntry } from "@labbridge/streams";
import { closeSocket, sendTo, type AgentSocket } from "./agent_sessions.ts";
import { leaseExpiry, type GatewayContext } from "./gateway_context.ts";
import { heartbeatWindow } from "./heartbeat_window.ts";
import { ownLostAttempts } from "./own_attempts.ts";

// The most frequent frame the gateway sends, encoded once rather than on every heartbeat.
const ACK_TEXT = JSON.stringify({ type: "heartbeat.ack" } satisfies ServerMessage);
const ACK = [false, true].map((compress) => {
  const frame = encodeFrame(ACK_TEXT, compress);
  return { frame, binary: typeof frame !== "string", bytes: typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength };
});

/** Handles one heartbeat. */
export async function handleHeartbeat(ctx: GatewayContext, ws: AgentSocket, msg: HeartbeatMessage): Promise<void> {
  const data = ws.getUserData();
  const agentId = data.agent!.id;
  const now = ctx.clock();
  // Naming an attempt moves the session to the busy window at once; naming none, to the idle one.
  const window = heartbeatWindow(ctx.config, msg.running);
  const carriesReadings = msg.gpus !== undefined || msg.g !== undefined || msg.h !== undefined;
  const touched = await ctx.heartbeats.renew({
    agentId, sessionId: data.sessionId, now, expiresAt: now + window.presenceTtlMs, intervalMs: window.intervalMs,
    telemetry: carriesReadings ? { replace: msg.gpus !== undefined, gpus: msg.gpus ? msg.gpus.map(gpuReadingOf) : msg.g, host: msg.h } : undefined,
  });
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
  if (msg.running.length > 0) {
    const lost = await ownLostAttempts(ctx, ws, await ctx.leases.extend(agentId, msg.running, now, leaseExpiry(ctx, now)));
    for (const attemptId of lost) {
      ctx.log.info({ agent_id: agentId, attempt_id: attemptId }, "heartbeat for a lost lease, aborting attempt");
      sendTo(ws, { type: "attempt.abort", attempt_id: attemptId, reason: "lease_lost" }, ctx.metrics.sent);
    }
  }
  if (msg.gpus && data.online) await announceGpuChange(ctx, agentId, data.online, msg);
  // The agent's proof that the path back works; it reconnects when these stop coming.
  sendAck(ctx, ws);
}

function sendAck(ctx: GatewayContext, ws: AgentSocket): void {
  const data = ws.getUserData();
  if (data.closed) return;
  const ack = ACK[data.compress ? 1 : 0]!;
  ctx.metrics.sent.inc(ack.bytes);
  ws.send(ack.frame, ack.binary);
}

// A GPU that appeared, went or was swapped: the scheduler records the new list through the
// path it already knows (agent.online of the same session, which it handles idempotently).
async function announceGpuChange(ctx: GatewayContext, agentId: string, online: Record<string, unknown>, msg: HeartbeatMessage): Promise<void> {
  const gpus = msg.gpus!.map(gpuInventoryOf);
  online.gpus = gpus;
  await appendEntry(ctx.redis, ctx.streams.agentEvents, { type: "agent.online", agent_id: agentId, data: { ...online, gpus_changed: true } });
  ctx.log.info({ agent_id: agentId, gpus: gpus.map((g) => g.name) }, "agent GPU list changed");
}
