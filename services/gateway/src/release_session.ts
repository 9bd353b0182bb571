// The end of a session: presence released and the agent announced OFFLINE, fenced on the
// session, so a late close of an old socket cannot knock out a newer one. Releases go to
// Redis in batches (round_trip_batch.ts): a storm's cut ends every session of a gateway at
// once, and one script per session was most of the time before the first reconnect got in.
import { appendEntry } from "@labbridge/streams";
import type { AgentSocket } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";

/** Most sessions one release script ends (a script blocks Redis while it runs). */
export const MAX_RELEASE_BATCH = 500;

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
  if (!agent || !(await ctx.sessionReleases.add({ agentId: agent.id, sessionId: data.sessionId }))) return;
  await appendEntry(ctx.redis, ctx.streams.agentEvents, {
    type: "agent.offline", agent_id: agent.id, data: { session_id: data.sessionId, cause: "socket_closed", close_code: code },
  });
}
