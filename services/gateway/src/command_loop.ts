// Delivers commands from this gateway's stream (`<prefix>:gw:<id>`) to the agents' sockets.
// An agent that has moved to another gateway gets the command forwarded there; one that
// is not connected anywhere gets nothing, and its lease decides what happens.
import { CLOSE_CODES, type ServerMessage, type StreamEntry } from "@labbridge/protocol";
import type { AssignedGpu, JobInput } from "@labbridge/protocol";
import { appendEntry, consumeGroup } from "@labbridge/streams";
import { isTransientError } from "@labbridge/runtime";
import { closeSocket, sendTo } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";
import { heartbeatWindow } from "./heartbeat_window.ts";

function toMessage(ctx: GatewayContext, entry: StreamEntry): ServerMessage | null {
  const d = entry.data;
  switch (entry.type) {
    case "attempt.assign":
      return {
        type: "attempt.assign",
        attempt_id: entry.attempt_id!,
        job_id: entry.job_id!,
        command: d.command as string[],
        env: (d.env as Record<string, string>) ?? {},
        // Input URLs are signed here, at delivery, so no signature sits in a stream.
        inputs: ((d.inputs as JobInput[]) ?? []).map((i) => ({ ...i, url: ctx.storage.presignGet(i.key, ctx.config.presignSeconds).url })),
        timeout_seconds: Number(d.timeout_seconds),
        // The GPUs the scheduler gave the attempt, passed on as given ([]: none); an entry without them says nothing.
        ...(Array.isArray(d.gpus) ? { gpus: (d.gpus as AssignedGpu[]).map((g) => (g.uuid ? { index: g.index, uuid: g.uuid } : { index: g.index })) } : {}),
      };
    case "attempt.cancel":
    case "attempt.abort":
      return { type: entry.type, attempt_id: entry.attempt_id!, reason: (d.reason as "canceled" | "lease_lost") ?? "canceled" };
    case "agent.pause":
      return { type: entry.type, reason: (d.reason as string | null) ?? null, until: (d.until as string | null) ?? null };
    case "agent.resume":
      return { type: entry.type, reason: null };
    default:
      return null;
  }
}

/** Handles one command entry. */
export async function deliverCommand(ctx: GatewayContext, entry: StreamEntry): Promise<void> {
  const agentId = entry.agent_id;
  if (!agentId) return;
  const log = ctx.log.child({ agent_id: agentId, job_id: entry.job_id, attempt_id: entry.attempt_id });
  const ws = ctx.sessions.get(agentId);
  if (entry.type === "agent.disconnect") {
    if (ws && (!entry.data.session_id || ws.getUserData().sessionId === entry.data.session_id)) {
      const revoked = entry.data.reason === "revoked";
      closeSocket(ws, revoked ? CLOSE_CODES.revoked : CLOSE_CODES.replaced, String(entry.data.reason ?? "disconnect"));
      log.info({ reason: entry.data.reason }, "agent disconnected by command");
    }
    return;
  }
  if (!ws) {
    const session = await ctx.presence.session(agentId);
    if (session && session.gatewayId !== ctx.gatewayId && !entry.data.forwarded) {
      await appendEntry(ctx.redis, ctx.streams.gateway(session.gatewayId), {
        type: entry.type, job_id: entry.job_id, attempt_id: entry.attempt_id, agent_id: agentId,
        data: { ...entry.data, forwarded: ctx.gatewayId },
      });
      log.info({ type: entry.type, to_gateway: session.gatewayId }, "command forwarded to the agent's gateway");
    } else {
      log.info({ type: entry.type }, "command not delivered: agent not connected");
    }
    return;
  }
  const message = toMessage(ctx, entry);
  if (!message) return void log.warn({ type: entry.type }, "ignoring unknown gateway command");
  if (message.type === "attempt.assign") {
    // From here the agent holds an attempt: its session is judged on the busy window at
    // once, not from its next heartbeat. A gateway dying in between would otherwise leave
    // the agent refused elsewhere for two idle intervals, past its new lease (decision 0028).
    await ctx.presence.setInterval(agentId, ws.getUserData().sessionId, heartbeatWindow(ctx.config, [message.attempt_id]).intervalMs);
  }
  const sent = sendTo(ws, message, ctx.metrics.sent);
  log.info({ type: entry.type, sent }, "command delivered");
}

/** Consumes this gateway's command stream until the signal aborts. */
export function runCommandLoop(ctx: GatewayContext, signal: AbortSignal): Promise<void> {
  return consumeGroup({
    redis: ctx.blockingRedis("commands"),
    stream: ctx.streams.gateway(ctx.gatewayId),
    group: "gateway",
    consumer: ctx.gatewayId,
    log: ctx.log,
    signal,
    isTransient: isTransientError,
    handler: (entry) => deliverCommand(ctx, entry),
  });
}
