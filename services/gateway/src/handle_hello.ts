// The hello step: an authenticated agent says who it is and which attempts it holds. The
// gateway records the session (replacing any older one), welcomes it with the server's
// heartbeat interval and lease TTL, announces it ONLINE, keeps the attempts whose lease
// still holds and tells it to abort the rest (`lease_lost`).
import { CLOSE_CODES, type HelloMessage } from "@labbridge/protocol";
import { activeAttempts } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { closeSocket, sendTo, type AgentSocket } from "./agent_sessions.ts";
import { leaseExpiry, type GatewayContext } from "./gateway_context.ts";

/** Handles the first frame of an agent session. */
export async function handleHello(ctx: GatewayContext, ws: AgentSocket, msg: HelloMessage): Promise<void> {
  const data = ws.getUserData();
  const agent = data.agent!;
  const now = ctx.clock();
  const log = ctx.log.child({ agent_id: agent.id, session_id: data.sessionId });

  const previous = await ctx.presence.session(agent.id);
  await ctx.presence.connect(agent.id, ctx.gatewayId, data.sessionId, now, leaseExpiry(ctx, now));
  const replacedHere = ctx.sessions.set(agent.id, ws);
  if (replacedHere) closeSocket(replacedHere, CLOSE_CODES.replaced, "replaced by a newer session");
  else if (previous && previous.gatewayId !== ctx.gatewayId) {
    await appendEntry(ctx.redis, ctx.streams.gateway(previous.gatewayId), {
      type: "agent.disconnect", agent_id: agent.id, data: { session_id: previous.sessionId, reason: "replaced" },
    });
  }
  data.helloDone = true;
  sendTo(ws, {
    type: "welcome", agent_id: agent.id, session_id: data.sessionId,
    heartbeat_seconds: ctx.config.heartbeatSeconds, lease_ttl_seconds: ctx.config.leaseTtlSeconds,
  }, ctx.metrics.sent);
  ctx.metrics.connected.set(ctx.sessions.size);

  const lost = await ctx.leases.extend(agent.id, msg.running, now, leaseExpiry(ctx, now));
  for (const attemptId of lost) {
    log.info({ attempt_id: attemptId }, "attempt lease lost while disconnected, aborting");
    sendTo(ws, { type: "attempt.abort", attempt_id: attemptId, reason: "lease_lost" }, ctx.metrics.sent);
  }
  if (msg.restarted) await reportLostOnRestart(ctx, agent.id, msg.running, now);

  // Announced last: when the scheduler sees the agent online (and re-sends assignments it
  // has not started), the attempts it lost are already settled.
  await appendEntry(ctx.redis, ctx.streams.agentEvents, {
    type: "agent.online", agent_id: agent.id,
    data: { gateway_id: ctx.gatewayId, session_id: data.sessionId, os: msg.os, hostname: msg.hostname, gpus: msg.gpus, connected_since: now, agent_version: msg.agent_version },
  });
  log.info({ gateway_id: ctx.gatewayId, os: msg.os, running: msg.running.length, restarted: msg.restarted }, "agent connected");
}

// An agent that restarted (reboot, crash) says so at once, so its attempts are not left
// waiting for the lease: started ones fail with agent_restarted; never-started ones have
// their lease expired now so the reaper hands them back.
async function reportLostOnRestart(ctx: GatewayContext, agentId: string, running: string[], now: number): Promise<void> {
  for (const att of await activeAttempts(ctx.pool, agentId)) {
    if (running.includes(att.id)) continue;
    const lease = await ctx.leases.get(att.id);
    if (!lease || lease.agentId !== agentId) continue;
    if (lease.started || att.state === "RUNNING") {
      await appendEntry(ctx.redis, ctx.streams.agentEvents, {
        type: "attempt.failed", job_id: att.job_id, attempt_id: att.id, agent_id: agentId,
        data: { exit_code: null, error: { code: "agent_restarted", message: "Agent restarted while the attempt ran" }, outputs: [] },
      });
    } else {
      await ctx.leases.expireNow(agentId, att.id, now);
    }
    ctx.log.info({ agent_id: agentId, attempt_id: att.id, job_id: att.job_id, started: lease.started }, "attempt lost to agent restart");
  }
}
