// The agent's own pause (agent.pause_state): its owner's `agent pause`, or the agent
// yielding to the workstation's user (gpu_busy, user_active). The gateway records it in
// MySQL (agents.agent_pause: the scheduler assigns nothing while it holds) and announces
// each change once, as agent.paused / agent.resumed on the agent-events stream, one log
// line and one audit row, so the server shows every automatic pause and resume. The agent
// resends its state after every welcome; a repeat changes nothing and announces nothing.
import type { PauseStateMessage } from "@labbridge/protocol";
import { recordAudit, setAgentOwnPause } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import type { AgentSocket } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";

/** Handles one agent.pause_state frame. */
export async function handlePauseState(ctx: GatewayContext, ws: AgentSocket, msg: PauseStateMessage): Promise<void> {
  const data = ws.getUserData();
  const agentId = data.agent!.id;
  const { found, changed, previous } = await setAgentOwnPause(ctx.pool, { agentId, pause: msg.pause });
  if (!found || !changed) return;
  const now = new Date(ctx.clock());
  const paused = msg.pause !== null;
  const about = msg.pause ?? previous;
  const fields = { agent_id: agentId, session_id: data.sessionId, source: about?.source ?? null, reason: about?.reason ?? null, until: msg.pause?.until ?? null };
  ctx.log.info(fields, paused ? "agent paused by itself" : "agent's own pause lifted");
  await recordAudit(ctx.pool, {
    at: now, actor: agentId, role: "agent", action: paused ? "agent.paused" : "agent.resumed", target_type: "agent", target_id: agentId,
    result: "ok", request_id: null, details: { source: fields.source, reason: fields.reason, until: fields.until, previous },
  });
  // agent.resumed wakes the scheduler (new capacity); agent.paused is an audit entry for it.
  await appendEntry(ctx.redis, ctx.streams.agentEvents, {
    type: paused ? "agent.paused" : "agent.resumed", agent_id: agentId,
    data: { by: "agent", source: fields.source, reason: fields.reason, until: fields.until, session_id: data.sessionId },
  });
}
