// The end of a session: presence released and the agent announced OFFLINE, fenced on the
// session, so a late close of an old socket cannot knock out a newer one. Released at once,
// one script each, not in batches as heartbeats are renewed: a batch's few milliseconds let
// an agent that reconnects at once (a restart, a dropped link) reach its claim while its old
// session still looked healthy, and be refused with 4409 (two gateway tests caught it); and
// in a 100,000-agent storm batching cut the gateways' closing phase only from 13.7 to 10 s,
// leaving the storm at 60.7 s (docs/PERFORMANCE.md).
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
