// /v1/agents: list, get, patch, pause, resume, revoke. Pause and revoke are recorded in MySQL
// first, then sent to the agent's gateway; the scheduler reads `paused` before assigning.
import { isId, ID_PREFIX, isIntIn, isObject, isRfc3339, isStringRecord, unknownFieldProblems, type Gpu, type Problem } from "@labbridge/protocol";
import {
  activeAttemptIds, getAgentRow, listAgentRows, patchAgent, pauseOf, requestCancel, revokeAgent, setAgentPaused, type AgentPatch, type AgentRow, type Principal,
} from "@labbridge/store";
import { type AgentReadings, appendEntry } from "@labbridge/streams";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { ApiError, validationError } from "../api_error.ts";
import { auditActor, requireAdmin } from "../auth.ts";
import { emptyBody, jsonBody, limitParam } from "../request_body.ts";
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
  // Whoever holds it: the API (until its `until`), else the agent itself (its owner, or yielding to the workstation's user).
  const pause = pauseOf(a, ctx.clock());
  return {
    id: a.id,
    name: a.name,
    status: a.status,
    paused: pause !== null,
    pause_reason: pause?.reason ?? null,
    pause,
    labels: JSON.parse(a.labels) as Record<string, string>,
    os: a.os,
    hostname: a.hostname,
    slots: a.slots,
    gpus: live.gpus,
    running: await activeAttemptIds(ctx.pool, a.id),
    last_seen_at: lastSeen ? lastSeen.toISOString() : null,
    connected_since: a.status === "ONLINE" && a.connected_since ? a.connected_since.toISOString() : null,
    cpu_percent: live.cpu_percent,
    memory_mb: live.memory_mb,
    memory_used_mb: live.memory_used_mb,
    disk_free_mb: live.disk_free_mb,
    // Measured by the gateway at hello: presigned URLs fail on a workstation whose clock is minutes off.
    clock_skew_ms: session ? readings?.clockSkewMs ?? null : null,
  };
}

async function liveAgent(ctx: ApiContext, id: string): Promise<AgentRow> {
  const a = isId(id, ID_PREFIX.agent) ? await getAgentRow(ctx.pool, id) : null;
  if (!a || a.revoked_at) throw new ApiError("not_found", `Agent "${id}" not found`);
  return a;
}

async function list(ctx: ApiContext, req: Request): Promise<Response> {
  const limit = limitParam(req);
  // The cursor is the last agent id of the previous page: anything else is not ours.
  const cursor = req.query.get("cursor");
  if (cursor !== null && !isId(cursor, ID_PREFIX.agent)) throw new ApiError("validation_failed", `Invalid cursor "${cursor}"`, { parameter: "cursor" });
  const rows = await listAgentRows(ctx.pool, { limit: limit + 1, after: cursor ?? undefined });
  const page = rows.slice(0, limit);
  return { status: 200, body: { items: await Promise.all(page.map((a) => view(ctx, a))), next_cursor: rows.length > limit ? page[page.length - 1]!.id : null } };
}

async function get(ctx: ApiContext, _req: Request, [id]: string[]): Promise<Response> {
  return { status: 200, body: await view(ctx, await liveAgent(ctx, id!)) };
}

async function patch(ctx: ApiContext, req: Request, [id]: string[], who: Principal): Promise<Response> {
  await requireAdmin(ctx, req, who, { action: "agent.patched", targetType: "agent", targetId: id! });
  const changes = checkAgentPatch(jsonBody(req));
  const agent = await liveAgent(ctx, id!);
  const by = auditActor(req, who);
  if (!(await patchAgent(ctx.pool, { agentId: agent.id, patch: changes, actor: by.actor, role: by.role, requestId: by.requestId, now: new Date(ctx.clock()) }))) {
    throw new ApiError("not_found", `Agent "${id}" not found`);
  }
  ctx.log.info({ agent_id: agent.id, slots: changes.slots, labels: changes.labels, by: who.owner, request_id: by.requestId }, "agent patched");
  // More slots or other labels may fit PENDING jobs now: wake a scheduler. MySQL holds the
  // change, so a lost entry only waits for the scheduler's sweep.
  await appendEntry(ctx.redis, ctx.streams.agentEvents, { type: "agent.updated", agent_id: agent.id, data: { by: who.owner } })
    .catch((err) => ctx.log.warn({ agent_id: agent.id, err: (err as Error).message }, "agent.updated not published; the sweep will pick the change up"));
  return { status: 200, body: await view(ctx, await liveAgent(ctx, agent.id)) };
}

const MAX_SLOTS = 64;
const MAX_LABELS = 64;
// The agent's own --labels rule (agent/src/cli/cli_args.ts), so labels set either way read alike.
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,62}$/;

function checkAgentPatch(body: unknown): AgentPatch {
  if (!isObject(body)) throw validationError([{ field: "", reason: "must be a JSON object" }]);
  const problems: Problem[] = [];
  problems.push(...unknownFieldProblems(body, ["slots", "labels"]));
  const out: AgentPatch = {};
  if (body.slots !== undefined) {
    if (!isIntIn(body.slots, 1, MAX_SLOTS)) problems.push({ field: "slots", reason: `must be a whole number from 1 to ${MAX_SLOTS}` });
    else out.slots = body.slots;
  }
  if (body.labels !== undefined) {
    const labels = body.labels;
    if (!isStringRecord(labels) || Object.keys(labels).length > MAX_LABELS) problems.push({ field: "labels", reason: `must be an object of at most ${MAX_LABELS} strings` });
    else {
      for (const [k, v] of Object.entries(labels)) {
        if (!LABEL_KEY.test(k)) problems.push({ field: `labels.${k}`, reason: "must be letters, digits, _ . / - (at most 63)" });
        else if (v.length > 128) problems.push({ field: `labels.${k}`, reason: "must be at most 128 characters" });
      }
      out.labels = labels;
    }
  }
  if (problems.length === 0 && out.slots === undefined && out.labels === undefined) problems.push({ field: "", reason: "must change slots or labels" });
  if (problems.length) throw validationError(problems);
  return out;
}

async function sendToAgent(ctx: ApiContext, agentId: string, type: "agent.pause" | "agent.resume" | "agent.disconnect", data: Record<string, unknown>) {
  const session = await ctx.presence.session(agentId);
  if (session) await appendEntry(ctx.redis, ctx.streams.gateway(session.gatewayId), { type, agent_id: agentId, data });
}

const PAUSE_FIELDS = ["reason", "stop_running", "until"] as const;

async function pause(ctx: ApiContext, req: Request, [id]: string[], who: Principal): Promise<Response> {
  await requireAdmin(ctx, req, who, { action: "agent.paused", targetType: "agent", targetId: id! });
  const body = jsonBody(req, true);
  if (!isObject(body)) throw validationError([{ field: "", reason: "must be a JSON object" }]);
  const unknown = unknownFieldProblems(body, PAUSE_FIELDS);
  if (unknown.length) throw validationError(unknown);
  const reason = body.reason ?? null;
  if (reason !== null && (typeof reason !== "string" || reason.length > 500)) throw validationError([{ field: "reason", reason: "must be a string of at most 500 characters" }]);
  if (body.stop_running !== undefined && typeof body.stop_running !== "boolean") throw validationError([{ field: "stop_running", reason: "must be a boolean" }]);
  const until = body.until ?? null;
  if (until !== null && (!isRfc3339(until) || Date.parse(until) <= ctx.clock())) {
    throw validationError([{ field: "until", reason: "must be an RFC 3339 time in the future, or null" }]);
  }
  const agent = await liveAgent(ctx, id!);
  const untilDate = until === null ? null : new Date(Date.parse(until));
  const by = auditActor(req, who);
  await setAgentPaused(ctx.pool, {
    agentId: agent.id, paused: true, reason: reason as string | null, until: untilDate,
    audit: { by, at: new Date(ctx.clock()), details: { stop_running: body.stop_running === true } },
  });
  ctx.log.info({
    agent_id: agent.id, reason, until: untilDate?.toISOString() ?? null, stop_running: body.stop_running === true, by: who.owner, request_id: by.requestId,
  }, "agent paused");
  await sendToAgent(ctx, agent.id, "agent.pause", { reason, until: untilDate?.toISOString() ?? null });
  if (body.stop_running === true) {
    const running = await activeAttemptIds(ctx.pool, agent.id);
    const [rows] = await ctx.pool.query(`SELECT job_id FROM attempts WHERE id IN (${running.map(() => "?").join(",") || "NULL"})`, running);
    for (const { job_id } of rows as { job_id: string }[]) {
      // Each job stopped is a cancel by the admin of (usually) someone else's job: on the trail too.
      await requestCancel(ctx.pool, job_id, new Date(ctx.clock()), { by, details: { cause: "agent_paused", agent_id: agent.id } });
      await appendEntry(ctx.redis, ctx.streams.jobs, { type: "job.cancel_requested", job_id, data: { by: who.owner, cause: "agent_paused" } });
    }
  }
  return { status: 202, body: await view(ctx, await liveAgent(ctx, agent.id)) };
}

async function resume(ctx: ApiContext, req: Request, [id]: string[], who: Principal): Promise<Response> {
  await requireAdmin(ctx, req, who, { action: "agent.resumed", targetType: "agent", targetId: id! });
  emptyBody(req);
  const agent = await liveAgent(ctx, id!);
  const by = auditActor(req, who);
  await setAgentPaused(ctx.pool, { agentId: agent.id, paused: false, reason: null, audit: { by, at: new Date(ctx.clock()) } });
  ctx.log.info({ agent_id: agent.id, by: who.owner, request_id: by.requestId }, "agent resumed");
  await sendToAgent(ctx, agent.id, "agent.resume", {});
  await appendEntry(ctx.redis, ctx.streams.agentEvents, { type: "agent.resumed", agent_id: agent.id, data: { by: who.owner } });
  return { status: 202, body: await view(ctx, await liveAgent(ctx, agent.id)) };
}

async function revoke(ctx: ApiContext, req: Request, [id]: string[], who: Principal): Promise<Response> {
  await requireAdmin(ctx, req, who, { action: "agent.revoked", targetType: "agent", targetId: id! });
  emptyBody(req);
  const agent = await liveAgent(ctx, id!);
  const by = auditActor(req, who);
  await revokeAgent(ctx.pool, { agentId: agent.id, now: new Date(ctx.clock()), by });
  ctx.log.info({ agent_id: agent.id, by: who.owner, request_id: by.requestId }, "agent revoked");
  await sendToAgent(ctx, agent.id, "agent.disconnect", { reason: "revoked" });
  return { status: 204 };
}

/** The agent routes. */
export const agentRoutes: Route[] = [
  { method: "GET", path: "/v1/agents", auth: true, query: ["limit", "cursor"], handle: list },
  { method: "GET", path: "/v1/agents/{id}", auth: true, handle: get },
  { method: "PATCH", path: "/v1/agents/{id}", auth: true, handle: patch },
  { method: "DELETE", path: "/v1/agents/{id}", auth: true, handle: revoke },
  { method: "POST", path: "/v1/agents/{id}/pause", auth: true, handle: pause },
  { method: "POST", path: "/v1/agents/{id}/resume", auth: true, handle: resume },
];
