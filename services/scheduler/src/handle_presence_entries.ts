// A run of presence entries (`agent.online`, `agent.offline`) handled together
// (consume_group.ts `together`): a few fenced UPDATEs for all their sessions, one query
// for the assignments the reconnected agents had not started, and one matcher wake-up,
// where one entry at a time cost a statement or three and a whole matching pass per
// agent (a reconnect storm of 3,000 agents took 19 s to be ONLINE again). Stream order
// is kept per agent: an offline that follows the same agent's online in the run closes
// the batch before it. Applying a run twice changes nothing (the fences hold).
import type { Gpu, StreamEntry } from "@labbridge/protocol";
import { markAgentsOffline, markAgentsOnline, unstartedAssignmentsOf, type OfflineSession, type OnlineSession } from "@labbridge/store";
import { Leases } from "@labbridge/streams";
import type { ServiceContext } from "@labbridge/runtime";
import { sendAssignment, wakeMatcher } from "./dispatch.ts";

/** Whether an entry is handled in a run: agent.online and agent.offline announcements. */
export function isPresenceEntry(entry: StreamEntry): boolean {
  return (entry.type === "agent.online" || entry.type === "agent.offline") && !!entry.agent_id;
}

/** The session an agent.online entry announces. */
export function onlineSessionOf(entry: StreamEntry, now: number): OnlineSession {
  const { data } = entry;
  return {
    agentId: entry.agent_id!,
    gatewayId: String(data.gateway_id),
    sessionId: String(data.session_id),
    hostname: String(data.hostname ?? ""),
    gpus: (data.gpus as Gpu[]) ?? [],
    at: new Date(Number(data.connected_since) || Number(entry.ts) || now),
  };
}

/** A batch: offlines applied first, then onlines; no agent has an online before an offline in it. */
interface Batch {
  offline: OfflineSession[];
  online: { session: OnlineSession; gpusChanged: boolean }[];
}

/**
 * Splits a run into batches that can each be applied as "offlines, then onlines" with the
 * outcome of applying the entries one by one: a new batch starts at an offline of an agent
 * that already came online in the current one.
 */
export function presenceBatches(entries: StreamEntry[], now: number): Batch[] {
  const batches: Batch[] = [];
  let cur: Batch = { offline: [], online: [] };
  let onlineHere = new Set<string>();
  for (const e of entries) {
    const agentId = e.agent_id!;
    if (e.type === "agent.offline") {
      if (onlineHere.has(agentId)) {
        batches.push(cur);
        cur = { offline: [], online: [] };
        onlineHere = new Set();
      }
      if (typeof e.data.session_id === "string") cur.offline.push({ agentId, sessionId: e.data.session_id, at: new Date(Number(e.ts) || now) });
    } else {
      onlineHere.add(agentId);
      cur.online.push({ session: onlineSessionOf(e, now), gpusChanged: !!e.data.gpus_changed });
    }
  }
  batches.push(cur);
  return batches.filter((b) => b.offline.length || b.online.length);
}

/** Handles a run of presence entries. */
export async function handlePresenceEntries(ctx: ServiceContext, entries: StreamEntry[]): Promise<void> {
  const reconnected = new Map<string, string>(); // agent id → gateway id of its latest session
  const causeOf = new Map(entries.filter((e) => e.type === "agent.offline").map((e) => [e.agent_id, e.data.cause]));
  for (const batch of presenceBatches(entries, ctx.clock())) {
    for (const s of await markAgentsOffline(ctx.pool, batch.offline)) {
      ctx.log.info({ agent_id: s.agentId, session_id: s.sessionId, cause: causeOf.get(s.agentId) }, "agent OFFLINE");
    }
    const took = new Set(await markAgentsOnline(ctx.pool, batch.online.map((o) => o.session)));
    for (const { session: s, gpusChanged } of batch.online) {
      reconnected.set(s.agentId, s.gatewayId);
      // A GPU list re-announced by a live session is not a new ONLINE transition.
      if (!took.has(s.agentId) || gpusChanged) continue;
      took.delete(s.agentId); // one line per agent, for the session that won
      ctx.log.info({ agent_id: s.agentId, gateway_id: s.gatewayId, session_id: s.sessionId }, "agent ONLINE");
    }
  }
  if (reconnected.size === 0) return;
  // An assignment sent to the gateway the agent left (or while it was mid-hello) would
  // otherwise wait for its lease to run out; send it again through the new session.
  for (const a of await unstartedAssignmentsOf(ctx.pool, [...reconnected.keys()])) {
    const lease = await ctx.leases.get(a.attemptId);
    if (!lease || lease.agentId !== a.agentId || !Leases.isLive(lease, ctx.clock())) continue; // the reaper hands it back
    const gatewayId = reconnected.get(a.agentId)!;
    await sendAssignment(ctx, gatewayId, a);
    ctx.log.info({ agent_id: a.agentId, job_id: a.jobId, attempt_id: a.attemptId, gateway_id: gatewayId }, "assignment sent again after reconnect");
  }
  // The new capacity is matched by a pass this run does not wait for: with 20,000 agents
  // online a pass reads all their capacity, and awaiting one per run held the next runs of
  // ONLINE writes back (the k-th welcome waited 31 s for its ONLINE in a cold start). The
  // PENDING sweep covers a wake-up lost with the process.
  wakeMatcher(ctx);
}
