// The end of a session: presence released and the agent announced OFFLINE, fenced on the
// session, so a late close of an old socket cannot knock out a newer one.
import { appendEntry } from "@labbridge/streams";
import type { AgentSocket } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";

/**
 * Ends the socket's session in presence and announces the agent OFFLINE, if it is still
 * the current session. Leases stay until they expire, so a network blip does not touch
 * running attempts. A gateway that stops calls this before sending its agents away, so
 * their reconnects elsewhere are let in at once rather than refused as a second session of
 * a healthy one. `code` is the socket's close code, or null where it is not known (a hello
 * that found its socket already closed).
 */
export async function releaseSession(ctx: GatewayContext, ws: AgentSocket, code: number | null): Promise<void> {
  const data = ws.getUserData();
  const agent = data.agent;
  if (!agent || !(await ctx.presence.disconnect(agent.id, data.sessionId))) return;
  await appendEntry(ctx.redis, ctx.streams.agentEvents, {
    type: "agent.offline", agent_id: agent.id, data: { session_id: data.sessionId, cause: "socket_closed", close_code: code },
  });
}
