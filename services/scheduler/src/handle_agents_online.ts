// A run of `agent.online` entries handled together (consume_group.ts `together`): one
// fenced UPDATE for all their sessions, one query for the assignments they had not
// started, and one matching pass, where one entry at a time cost three round trips and a
// whole matching pass per agent. Applying a run twice changes nothing (the fences hold).
import type { Gpu, StreamEntry } from "@labbridge/protocol";
import { markAgentsOnline, unstartedAssignmentsOf, type OnlineSession } from "@labbridge/store";
import { Leases } from "@labbridge/streams";
import type { ServiceContext } from "@labbridge/runtime";
import { dispatchPending, sendAssignment } from "./dispatch.ts";

/** Whether an entry is handled in a run: agent.online announcements. */
export function isOnlineEntry(entry: StreamEntry): boolean {
  return entry.type === "agent.online" && !!entry.agent_id;
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

/** Handles a run of agent.online entries. */
export async function handleAgentsOnline(ctx: ServiceContext, entries: StreamEntry[]): Promise<void> {
  const sessions = entries.map((e) => onlineSessionOf(e, ctx.clock()));
  const took = await markAgentsOnline(ctx.pool, sessions);
  const changedGpusOnly = new Set(entries.filter((e) => e.data.gpus_changed).map((e) => e.agent_id));
  const gatewayOf = new Map(sessions.map((s) => [s.agentId, s]));
  for (const agentId of took) {
    // A GPU list re-announced by a live session is not a new ONLINE transition.
    if (changedGpusOnly.has(agentId)) continue;
    const s = gatewayOf.get(agentId)!;
    ctx.log.info({ agent_id: agentId, gateway_id: s.gatewayId, session_id: s.sessionId }, "agent ONLINE");
  }
  // An assignment sent to the gateway the agent left (or while it was mid-hello) would
  // otherwise wait for its lease to run out; send it again through the new session.
  for (const a of await unstartedAssignmentsOf(ctx.pool, [...gatewayOf.keys()])) {
    const lease = await ctx.leases.get(a.attemptId);
    if (!lease || lease.agentId !== a.agentId || !Leases.isLive(lease, ctx.clock())) continue; // the reaper hands it back
    const gatewayId = gatewayOf.get(a.agentId)!.gatewayId;
    await sendAssignment(ctx, gatewayId, a);
    ctx.log.info({ agent_id: a.agentId, job_id: a.jobId, attempt_id: a.attemptId, gateway_id: gatewayId }, "assignment sent again after reconnect");
  }
  await dispatchPending(ctx);
}
