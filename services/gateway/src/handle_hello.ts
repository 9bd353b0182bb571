// The hello step: an authenticated agent says who it is and which attempts it holds. The
// gateway claims the agent's presence for this session (refused with 4409 while another
// session of the same credential is healthy: a stolen credential does not win), welcomes it
// with the server's heartbeat intervals (busy and idle) and lease TTL, announces it ONLINE, keeps the
// attempts whose lease still holds and tells it to abort its own lost ones (`lease_lost`).
import { CLOCK_SKEW_WARN_MS, CLOSE_CODES, gpuInventoryOf, gpuReadingOf, type HelloMessage } from "@labbridge/protocol";
import { FRAME_COMPRESSION } from "@labbridge/protocol/frame_codec";
import { activeAttempts } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { closeSocket, sendTo, type AgentSocket } from "./agent_sessions.ts";
import { auditSessionRefused } from "./audit_agent_access.ts";
import { leaseExpiry, type GatewayContext } from "./gateway_context.ts";
import { heartbeatWindow } from "./heartbeat_window.ts";
import { ownLostAttempts } from "./own_attempts.ts";
import { releaseSession } from "./release_session.ts";

/** Handles the first frame of an agent session. */
export async function handleHello(ctx: GatewayContext, ws: AgentSocket, msg: HelloMessage): Promise<void> {
  const data = ws.getUserData();
  const agent = data.agent!;
  const now = ctx.clock();
  const log = ctx.log.child({ agent_id: agent.id, session_id: data.sessionId });

  // The session's window follows what it holds: idle (no attempt named) or busy. A healthy
  // session is one seen within two of its own intervals (presence.ts).
  const window = heartbeatWindow(ctx.config, msg.running);
  const claim = await ctx.presence.claim(agent.id, ctx.gatewayId, data.sessionId, now, now + window.presenceTtlMs, window.intervalMs);
  if (!claim.claimed) {
    log.warn({ remote_address: data.remoteAddress, current_session_id: claim.current.sessionId, current_gateway_id: claim.current.gatewayId },
      "second session refused: the credential's agent has a healthy session");
    sendTo(ws, { type: "error", code: "forbidden", message: "This credential is in use by a healthy session; a second session is refused" }, ctx.metrics.sent);
    closeSocket(ws, CLOSE_CODES.replaced, "credential in use by a healthy session");
    await auditSessionRefused(ctx, {
      agentId: agent.id, sessionId: data.sessionId, remoteAddress: data.remoteAddress, hostname: msg.hostname, os: msg.os, current: claim.current,
    });
    return;
  }
  const replacedHere = ctx.sessions.set(agent.id, ws);
  if (replacedHere) closeSocket(replacedHere, CLOSE_CODES.replaced, "replaced by a newer session");
  else if (claim.replaced && claim.replaced.gatewayId !== ctx.gatewayId) {
    await appendEntry(ctx.redis, ctx.streams.gateway(claim.replaced.gatewayId), {
      type: "agent.disconnect", agent_id: agent.id, data: { session_id: claim.replaced.sessionId, reason: "replaced" },
    });
  }
  if (data.closed) {
    // The socket closed while the claim was in flight: onClose found no session to end (the
    // hello was not done), so the claim is undone here. Left standing, it would refuse this
    // agent's reconnect as a second session for two of its intervals.
    ctx.sessions.delete(agent.id, ws);
    await releaseSession(ctx, ws, null);
    log.info({}, "agent went away during its hello; its claim is released");
    return;
  }
  data.helloDone = true;
  // Everything the hello read replaces what an earlier session left (GPUs that went must not linger).
  // The agent's clock against ours (one-way latency included: good to a second, enough to
  // see the minutes of skew that make presigned URLs fail).
  const clockSkewMs = msg.clock_ms === undefined ? undefined : msg.clock_ms - now;
  if (clockSkewMs !== undefined && Math.abs(clockSkewMs) > CLOCK_SKEW_WARN_MS) {
    log.warn({ clock_skew_ms: clockSkewMs }, "agent clock is off: presigned URLs it is given may look expired or not yet valid");
  }
  await ctx.telemetry.write(agent.id, data.sessionId, { replace: true, gpus: msg.gpus.map(gpuReadingOf), host: msg.host, clockSkewMs }, window.presenceTtlMs);
  const compression = msg.compression?.includes(FRAME_COMPRESSION) ? FRAME_COMPRESSION : null;
  sendTo(ws, {
    type: "welcome", agent_id: agent.id, session_id: data.sessionId,
    heartbeat_seconds: ctx.config.heartbeatSeconds, idle_heartbeat_seconds: ctx.config.idleHeartbeatSeconds,
    lease_ttl_seconds: ctx.config.leaseTtlSeconds, compression,
    server_time_ms: ctx.clock(),
  }, ctx.metrics.sent);
  // After the welcome, which itself goes as text: the agent reads compressed frames only once it has it.
  data.compress = compression !== null;
  // The API's pause as it stands (the agent holds it beside its own, for its status and to
  // hand back a racing assignment); a resume clears one lifted while the agent was away.
  const apiPause = agent.apiPause;
  sendTo(ws, apiPause ? { type: "agent.pause", reason: apiPause.reason, until: apiPause.until } : { type: "agent.resume", reason: null }, ctx.metrics.sent);
  ctx.metrics.connected.set(ctx.sessions.size);

  const lost = await ownLostAttempts(ctx, ws, await ctx.leases.extend(agent.id, msg.running, now, leaseExpiry(ctx, now)));
  for (const attemptId of lost) {
    log.info({ attempt_id: attemptId }, "attempt lease lost while disconnected, aborting");
    sendTo(ws, { type: "attempt.abort", attempt_id: attemptId, reason: "lease_lost" }, ctx.metrics.sent);
  }
  if (msg.restarted) await reportLostOnRestart(ctx, agent.id, msg.running, now);

  // The OS was fixed at enrollment (jobs are matched on it); hello may not change it.
  if (msg.os !== agent.os) log.warn({ claimed_os: msg.os, enrolled_os: agent.os }, "hello claims another OS than the enrolled one; keeping the enrolled OS");
  // Announced last: when the scheduler sees the agent online (and re-sends assignments it
  // has not started), the attempts it lost are already settled.
  data.online = {
    gateway_id: ctx.gatewayId, session_id: data.sessionId, os: agent.os, hostname: msg.hostname, gpus: msg.gpus.map(gpuInventoryOf), connected_since: now, agent_version: msg.agent_version,
  };
  await appendEntry(ctx.redis, ctx.streams.agentEvents, { type: "agent.online", agent_id: agent.id, data: data.online });
  log.info({ gateway_id: ctx.gatewayId, os: agent.os, running: msg.running.length, restarted: msg.restarted }, "agent connected");
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
