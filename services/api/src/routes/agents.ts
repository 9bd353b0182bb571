// /v1/agents: list, get, pause, resume, revoke. Pause and revoke are recorded in MySQL
// first, then sent to the agent's gateway; the scheduler reads `paused` before assigning.
import { isId, ID_PREFIX, isObject, type Gpu } from "@labbridge/protocol";
import { activeAttemptIds, getAgentRow, listAgentRows, revokeAgent, setAgentPaused, type AgentRow, type Principal } from "@labbridge/store";
import { type AgentReadings, appendEntry } from "@labbridge/streams";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { ApiError, validationError } from "../api_error.ts";
import { requireAdmin } from "../auth.ts";
import { jsonBody, limitParam } from "../request_body.ts";
import type { Route } from "../router.ts";

/**
 * The GPUs as MySQL lists them (inventory), each with its live reading where the agent is
 * connected and reported one (null otherwise), and the host's readings.
 */
function liveGpus(inventory: Gpu[], readings: AgentReadings | null) {
  const host = readings?.host ?? null;
  return {
    gpus: inventory.map((g, i) => {
      const index = g.index ?? i;
      const r = readings?.gpus.get(index);
      return {
        index, name: g.name, uuid: g.uuid ?? null, memory_mb: g.memory_mb,
        memory_used_mb: r?.[1] ?? null, utilization_percent: r?.[2] ?? null, temperature_c: r?.[3] ?? null,
        other_processes: r && r[4] !== null ? { count: r[4], memory_mb: r[5] } : null,
      };
    }),
    cpu_percent: host?.[0] ?? null,
    memory_mb: host?.[1] ?? null,
    memory_used_mb: host?.[2] ?? null,
    disk_free_mb: host?.[3] ?? null,
  };
}

async function view(ctx: ApiContext, a: AgentRow) {
  const [session, readings] = await Promise.all([ctx.presence.session(a.id), ctx.telemetry.read(a.id)]);
  const lastSeen = session ? new Date(session.lastSeen) : a.last_seen_at;
  // Readings of a session that is gone are not live any more, even before they expire.
  const live = liveGpus(JSON.parse(a.gpus) as Gpu[], session ? readings : null);
  return {
    id: a.id,
    name: a.name,
    status: a.status,
    paused: a.paused === 1,
    pause_reason: a.pause_reason,
    labels: JSON.parse(a.labels) as Record<string, string>,
    os: a.os,
    hostname: a.hostname,
    gpus: live.gpus,
    running: await activeAttemptIds(ctx.pool, a.id),
    last_seen_at: lastSeen ? lastSeen.toISOString() : null,
    connected_since: a.status === "ONLINE" && a.connected_since ? a.connected_since.toISOString() : null,
    cpu_percent: live.cpu_percent,
    memory_mb: live.memory_mb,
    memory_used_mb: live.memory_used_mb,
    disk_free_mb: live.disk_free_mb,
  };
}

async function liveAgent(ctx: ApiContext, id: string): Promise<AgentRow> {
  const a = isId(id, ID_PREFIX.agent) ? await getAgentRow(ctx.pool, id) : null;
  if (!a || a.revoked_at) throw new ApiError("not_found", `Agent "${id}" not found`);
  return a;
}

async function list(ctx: ApiContext, req: Request): Promise<Response> {
  const limit = limitParam(req);
  const rows = await listAgentRows(ctx.pool, { limit: limit + 1, after: req.query.get("cursor") ?? undefined });
  const page = rows.slice(0, limit);
  return { status: 200, body: { items: await Promise.all(page.map((a) => view(ctx, a))), next_cursor: rows.length > limit ? page[page.length - 1]!.id : null } };
}

async function get(ctx: ApiContext, _req: Request, [id]: string[]): Promise<Response> {
  return { status: 200, body: await view(ctx, await liveAgent(ctx, id!)) };
}

async function sendToAgent(ctx: ApiContext, agentId: string, type: "agent.pause" | "agent.resume" | "agent.disconnect", data: Record<string, unknown>) {
  const session = await ctx.presence.session(agentId);
  if (session) await appendEntry(ctx.redis, ctx.streams.gateway(session.gatewayId), { type, agent_id: agentId, data });
}

async function pause(ctx: ApiContext, req: Request, [id]: string[], who: Principal): Promise<Response> {
  requireAdmin(who);
  const body = jsonBody(req, true);
  if (!isObject(body)) throw validationError([{ field: "", reason: "must be a JSON object" }]);
  const reason = body.reason ?? null;
  if (reason !== null && (typeof reason !== "string" || reason.length > 500)) throw validationError([{ field: "reason", reason: "must be a string of at most 500 characters" }]);
  if (body.stop_running !== undefined && typeof body.stop_running !== "boolean") throw validationError([{ field: "stop_running", reason: "must be a boolean" }]);
  const agent = await liveAgent(ctx, id!);
  await setAgentPaused(ctx.pool, { agentId: agent.id, paused: true, reason: reason as string | null });
  ctx.log.info({ agent_id: agent.id, reason, stop_running: body.stop_running === true, by: who.owner }, "agent paused");
  await sendToAgent(ctx, agent.id, "agent.pause", { reason });
  if (body.stop_running === true) {
    const running = await activeAttemptIds(ctx.pool, agent.id);
    const [rows] = await ctx.pool.query(`SELECT job_id FROM attempts WHERE id IN (${running.map(() => "?").join(",") || "NULL"})`, running);
    for (const { job_id } of rows as { job_id: string }[]) {
      await ctx.pool.execute("UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, ?) WHERE id = ?", [new Date(ctx.clock()), job_id]);
      await appendEntry(ctx.redis, ctx.streams.jobs, { type: "job.cancel_requested", job_id, data: { by: who.owner, cause: "agent_paused" } });
    }
  }
  return { status: 202, body: await view(ctx, await liveAgent(ctx, agent.id)) };
}

async function resume(ctx: ApiContext, _req: Request, [id]: string[], who: Principal): Promise<Response> {
  requireAdmin(who);
  const agent = await liveAgent(ctx, id!);
  await setAgentPaused(ctx.pool, { agentId: agent.id, paused: false, reason: null });
  ctx.log.info({ agent_id: agent.id, by: who.owner }, "agent resumed");
  await sendToAgent(ctx, agent.id, "agent.resume", {});
  await appendEntry(ctx.redis, ctx.streams.agentEvents, { type: "agent.resumed", agent_id: agent.id, data: { by: who.owner } });
  return { status: 202, body: await view(ctx, await liveAgent(ctx, agent.id)) };
}

async function revoke(ctx: ApiContext, _req: Request, [id]: string[], who: Principal): Promise<Response> {
  requireAdmin(who);
  const agent = await liveAgent(ctx, id!);
  await revokeAgent(ctx.pool, { agentId: agent.id, now: new Date(ctx.clock()) });
  ctx.log.info({ agent_id: agent.id, by: who.owner }, "agent revoked");
  await sendToAgent(ctx, agent.id, "agent.disconnect", { reason: "revoked" });
  return { status: 204 };
}

/** The agent routes. */
export const agentRoutes: Route[] = [
  { method: "GET", path: /^\/v1\/agents\/?$/, auth: true, handle: list },
  { method: "GET", path: /^\/v1\/agents\/([^/]+)$/, auth: true, handle: get },
  { method: "DELETE", path: /^\/v1\/agents\/([^/]+)$/, auth: true, handle: revoke },
  { method: "POST", path: /^\/v1\/agents\/([^/]+)\/pause$/, auth: true, handle: pause },
  { method: "POST", path: /^\/v1\/agents\/([^/]+)\/resume$/, auth: true, handle: resume },
];
