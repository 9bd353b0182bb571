// /v1/jobs: create (idempotent with Idempotency-Key), get, list, cancel, and outputs with
// presigned GET URLs (the bytes never pass through the API).
import { checkJobSpec, isId, ID_PREFIX, JOB_STATES, relativePathProblem, type JobInput, type JobState } from "@labbridge/protocol";
import {
  createJob, describeInputs, getJob, getJobRow, IdempotencyConflictError, InvalidCursorError, jobOutputsPage, listJobs, requestCancel, type Principal,
} from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { ApiError, validationError } from "../api_error.ts";
import { auditActor } from "../auth.ts";
import { textParam } from "../query_params.ts";
import { emptyBody, jsonBody, limitParam } from "../request_body.ts";
import type { Route } from "../router.ts";

const MAX_IDEMPOTENCY_KEY = 255;

/** The job if the caller may see it; 404 otherwise (another user's job is reported as missing). */
export async function visibleJob(ctx: ApiContext, id: string, who: Principal) {
  const job = isId(id, ID_PREFIX.job) ? await getJob(ctx.pool, id) : null;
  // Another user's job is reported as missing, not forbidden: its id tells nothing.
  if (!job || (who.role !== "admin" && job.owner !== who.owner)) throw new ApiError("not_found", `Job "${id}" not found`);
  return job;
}

// An input must be something the caller may read: its own upload or its own job's output
// (an admin may use any). Otherwise any user could have the gateway presign a GET for
// another user's data just by naming its key.
async function authorizeInputs(ctx: ApiContext, inputs: JobInput[], who: Principal): Promise<JobInput[]> {
  const known = await describeInputs(ctx.pool, inputs);
  const problems = known.flatMap(({ owner }, i) => {
    // One answer for unknown and not-yours: a key's existence tells nothing to others.
    if (owner === null || (who.role !== "admin" && owner !== who.owner)) {
      return [{ field: `inputs[${i}].key`, reason: "is not one of your uploads or job outputs" }];
    }
    return [];
  });
  if (problems.length) throw validationError(problems);
  return known.map((k) => k.input);
}

async function create(ctx: ApiContext, req: Request, _p: string[], who: Principal): Promise<Response> {
  const checked = checkJobSpec(jsonBody(req));
  if (!checked.ok) throw validationError(checked.problems);
  const key = req.headers["idempotency-key"] ?? null;
  if (key !== null && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY)) {
    throw new ApiError("validation_failed", `Invalid Idempotency-Key: expected 1 to ${MAX_IDEMPOTENCY_KEY} characters`);
  }
  const spec = { ...checked.value, inputs: await authorizeInputs(ctx, checked.value.inputs, who) };
  let result;
  try {
    result = await createJob(ctx.pool, { owner: who.owner, spec, idempotencyKey: key, now: new Date(ctx.clock()) });
  } catch (err) {
    if (err instanceof IdempotencyConflictError) throw new ApiError("idempotency_key_reused", err.message, { idempotency_key: key });
    throw err;
  }
  if (result.created) {
    ctx.log.info({ job_id: result.job.id, owner: who.owner, state: "PENDING", cause: "submitted" }, "job submitted");
    // The job is committed; the stream entry only wakes a scheduler early. If Redis is
    // away, the scheduler's MySQL sweep still finds the job, so this is not an error.
    await appendEntry(ctx.redis, ctx.streams.jobs, { type: "job.submitted", job_id: result.job.id, data: { owner: who.owner } })
      .catch((err) => ctx.log.warn({ job_id: result.job.id, err: (err as Error).message }, "job.submitted not published; the sweep will pick it up"));
  }
  return { status: result.created ? 201 : 200, body: result.job, headers: result.created ? {} : { "idempotent-replayed": "true" } };
}

async function get(ctx: ApiContext, _req: Request, [id]: string[], who: Principal): Promise<Response> {
  return { status: 200, body: await visibleJob(ctx, id!, who) };
}

const MAX_NAME_PREFIX = 200;

// A user sees only their own jobs: ?owner= naming someone else is a 403 (not an empty page,
// which would read as "that owner has no jobs"); naming themselves is allowed. An admin sees
// every job, or one owner's with ?owner=.
async function list(ctx: ApiContext, req: Request, _p: string[], who: Principal): Promise<Response> {
  const state = req.query.get("state");
  if (state !== null && !JOB_STATES.includes(state as JobState)) {
    throw new ApiError("validation_failed", `Invalid state "${state}": expected one of ${JOB_STATES.join(", ")}`);
  }
  const asked = textParam(req, "owner", 64);
  if (who.role !== "admin" && asked !== undefined && asked !== who.owner) {
    throw new ApiError("forbidden", `Only an admin may list the jobs of owner "${asked}"`, { parameter: "owner" });
  }
  const cursor = req.query.get("cursor") ?? undefined;
  const filter = {
    owner: who.role === "admin" ? asked : who.owner,
    state: (state as JobState | null) ?? undefined,
    agentId: textParam(req, "agent_id", 64),
    namePrefix: textParam(req, "name_prefix", MAX_NAME_PREFIX),
    limit: limitParam(req),
    cursor,
  };
  try {
    return { status: 200, body: await listJobs(ctx.pool, filter) };
  } catch (err) {
    if (err instanceof InvalidCursorError) throw new ApiError("validation_failed", err.message, { parameter: "cursor" });
    throw err;
  }
}

async function cancel(ctx: ApiContext, req: Request, [id]: string[], who: Principal): Promise<Response> {
  emptyBody(req);
  const job = await visibleJob(ctx, id!, who);
  const by = auditActor(req, who);
  // Only an admin reaches another owner's job (visibleJob): that cancel is on the audit trail.
  const audit = job.owner !== who.owner ? { by, details: { owner: job.owner, state: job.state } } : undefined;
  const outcome = await requestCancel(ctx.pool, id!, new Date(ctx.clock()), audit);
  if (outcome === "already_finished") {
    const row = await getJobRow(ctx.pool, id!);
    throw new ApiError("job_already_finished", `Job "${id}" has already finished: ${row?.state}`, { state: row?.state });
  }
  ctx.log.info({ job_id: id, by: who.owner, request_id: by.requestId }, "job cancel requested");
  // Durable in MySQL already; the entry wakes the scheduler, whose sweep is the fallback.
  await appendEntry(ctx.redis, ctx.streams.jobs, { type: "job.cancel_requested", job_id: id!, data: { by: who.owner } })
    .catch((err) => ctx.log.warn({ job_id: id, err: (err as Error).message }, "job.cancel_requested not published; the sweep will apply it"));
  return { status: 202, body: await visibleJob(ctx, id!, who) };
}

// Without ?limit or ?cursor every output comes at once (as before paging existed); with
// either, pages of `limit` (default 50, max 500) ordered by path, and next_cursor.
async function outputs(ctx: ApiContext, req: Request, [id]: string[], who: Principal): Promise<Response> {
  const presigned = (o: { key: string; path: string; size: number; sha256: string }) => {
    const signed = ctx.storage.presignGet(o.key, ctx.config.presignSeconds);
    return { path: o.path, key: o.key, size: o.size, sha256: o.sha256, url: signed.url, expires_at: signed.expiresAt };
  };
  const cursor = req.query.get("cursor");
  if (req.query.get("limit") === null && cursor === null) {
    const job = await visibleJob(ctx, id!, who);
    return { status: 200, body: { items: job.outputs.map(presigned), next_cursor: null } };
  }
  const limit = limitParam(req);
  const row = isId(id, ID_PREFIX.job) ? await getJobRow(ctx.pool, id!) : null;
  if (!row || (who.role !== "admin" && row.owner !== who.owner)) throw new ApiError("not_found", `Job "${id}" not found`);
  const afterPath = cursor === null ? null : decodeOutputsCursor(cursor);
  const page = await jobOutputsPage(ctx.pool, id!, { limit, afterPath });
  const last = page.outputs.at(-1);
  return {
    status: 200,
    body: { items: page.outputs.map(presigned), next_cursor: page.more && last ? Buffer.from(JSON.stringify({ p: last.path })).toString("base64url") : null },
  };
}

function decodeOutputsCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    const p = typeof parsed === "object" && parsed !== null ? (parsed as { p?: unknown }).p : undefined;
    if (typeof p === "string" && relativePathProblem(p) === null) return p;
  } catch {
    // refused below
  }
  throw new ApiError("validation_failed", `Invalid cursor "${cursor}"`, { parameter: "cursor" });
}

/** The job routes. */
export const jobRoutes: Route[] = [
  { method: "POST", path: "/v1/jobs", auth: true, handle: create },
  { method: "GET", path: "/v1/jobs", auth: true, query: ["state", "agent_id", "owner", "name_prefix", "limit", "cursor"], handle: list },
  { method: "GET", path: "/v1/jobs/{id}", auth: true, handle: get },
  { method: "POST", path: "/v1/jobs/{id}/cancel", auth: true, handle: cancel },
  { method: "GET", path: "/v1/jobs/{id}/outputs", auth: true, query: ["limit", "cursor"], handle: outputs },
];
