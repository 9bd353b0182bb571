// One pass over agents whose presence ran out (no heartbeat within the lease TTL): claim
// the dead presence atomically, mark them OFFLINE in MySQL, fenced on the session they
// had, then drop the presence entry (a crash in between is finished by the next pass). A
// heartbeat that lands after the claim cannot revive the presence: it is refused, and the
// agent says hello again with a new session, which the OFFLINE fence does not match. One
// that lands before the claim renews it, and the agent stays ONLINE.
import { markAgentOffline } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import type { ServiceContext } from "@labbridge/runtime";

/** Marks up to `batch` silent agents OFFLINE; returns true when there may be more. */
export async function markSilentAgents(ctx: ServiceContext, batch = 100): Promise<boolean> {
  const now = ctx.clock();
  const silent = await ctx.presence.expired(now, batch);
  for (const { agentId } of silent) {
    const sessionId = await ctx.presence.claimExpired(agentId, now);
    if (sessionId === null) continue; // renewed between the listing and the claim
    if (sessionId) {
      const changed = await markAgentOffline(ctx.pool, { agentId, sessionId, at: new Date(now) });
      if (changed) {
        ctx.log.info({ agent_id: agentId, session_id: sessionId, cause: "heartbeat_missed" }, "agent OFFLINE");
        await appendEntry(ctx.redis, ctx.streams.agentEvents, {
          type: "agent.offline", agent_id: agentId, data: { session_id: sessionId, cause: "heartbeat_missed" },
        });
      }
    }
    await ctx.presence.removeExpired(agentId, sessionId, now);
  }
  return silent.length === batch;
}
