// Tokens: one-use enrollment tokens for agents (admin), and API tokens for users: minted
// by an admin (shown once, with an expiry), listed without their secret, revoked at once
// (a user may revoke their own), and GET /v1/me. Every mint and revoke is audited with it.
import { isIntIn, isObject, isStringRecord, unknownFieldProblems, type Problem } from "@labbridge/protocol";
import {
  createApiToken, createEnrollmentToken, isReservedOwner, listApiTokens, ReservedOwnerError, revokeApiToken, type ApiTokenInfo, type Principal,
} from "@labbridge/store";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { ApiError, validationError } from "../api_error.ts";
import { auditActor, requireAdmin } from "../auth.ts";
import { cursorParam, encodeCursor, textParam } from "../query_params.ts";
import { jsonBody, limitParam } from "../request_body.ts";
import type { Route } from "../router.ts";

const MAX_ENROLLMENT_TTL = 7 * 86_400;
/** API token lifetimes: 90 days unless asked, at most a year, at least a minute. */
export const API_TOKEN_TTL = { default: 90 * 86_400, min: 60, max: 366 * 86_400 } as const;
const OWNER = /^[A-Za-z0-9_.@-]{1,64}$/;
const MAX_TOKEN_NAME = 128;

async function enrollmentToken(ctx: ApiContext, req: Request, _p: string[], who: Principal): Promise<Response> {
  await requireAdmin(ctx, req, who, { action: "enrollment_token.created", targetType: "enrollment_token", targetId: null });
  const body = jsonBody(req, true);
  if (!isObject(body)) throw validationError([{ field: "", reason: "must be a JSON object" }]);
  const ttl = body.ttl_seconds ?? 3600;
  const labels = body.labels ?? {};
  const problems: Problem[] = unknownFieldProblems(body, ["ttl_seconds", "labels"]);
  if (!isIntIn(ttl, 60, MAX_ENROLLMENT_TTL)) problems.push({ field: "ttl_seconds", reason: `must be a whole number from 60 to ${MAX_ENROLLMENT_TTL}` });
  if (!isStringRecord(labels)) problems.push({ field: "labels", reason: "must be an object of strings" });
  if (problems.length) throw validationError(problems);
  const by = auditActor(req, who);
  const { id, token, expiresAt } = await createEnrollmentToken(ctx.pool, {
    createdBy: who.owner, ttlSeconds: ttl as number, labels: labels as Record<string, string>, now: new Date(ctx.clock()), by,
  });
  ctx.log.info({ by: who.owner, enrollment_token_id: id, expires_at: expiresAt.toISOString(), request_id: by.requestId }, "enrollment token created");
  return { status: 201, body: { token, expires_at: expiresAt.toISOString() } };
}

async function mint(ctx: ApiContext, req: Request, _p: string[], who: Principal): Promise<Response> {
  await requireAdmin(ctx, req, who, { action: "api_token.created", targetType: "api_token", targetId: null });
  const body = jsonBody(req);
  if (!isObject(body)) throw validationError([{ field: "", reason: "must be a JSON object" }]);
  const problems: Problem[] = unknownFieldProblems(body, ["owner", "role", "name", "ttl_seconds"]);
  if (typeof body.owner !== "string" || !OWNER.test(body.owner)) problems.push({ field: "owner", reason: "must be 1 to 64 letters, digits or _.@-" });
  const role = body.role ?? "user";
  if (role !== "user" && role !== "admin") problems.push({ field: "role", reason: 'must be "user" or "admin"' });
  const name = body.name ?? "";
  if (typeof name !== "string" || name.length > MAX_TOKEN_NAME || /[\u0000-\u001f\u007f]/.test(name)) {
    problems.push({ field: "name", reason: `must be a string of at most ${MAX_TOKEN_NAME} characters without control characters` });
  }
  const ttl = body.ttl_seconds ?? API_TOKEN_TTL.default;
  if (!isIntIn(ttl, API_TOKEN_TTL.min, API_TOKEN_TTL.max)) problems.push({ field: "ttl_seconds", reason: `must be a whole number from ${API_TOKEN_TTL.min} to ${API_TOKEN_TTL.max}` });
  if (problems.length) throw validationError(problems);
  const owner = body.owner as string;
  if (isReservedOwner(owner)) throw reserved(owner);
  const by = auditActor(req, who);
  let minted;
  try {
    minted = await createApiToken(ctx.pool, { owner, role: role as "user" | "admin", name: name as string, ttlSeconds: ttl as number, now: new Date(ctx.clock()), by });
  } catch (err) {
    if (err instanceof ReservedOwnerError) throw reserved(owner);
    throw err;
  }
  ctx.log.info({ by: who.owner, token_id: minted.id, owner, role, expires_at: minted.expiresAt.toISOString(), request_id: by.requestId }, "api token created");
  return {
    status: 201,
    body: { id: minted.id, token: minted.token, owner, role, name, expires_at: minted.expiresAt.toISOString() },
  };
}

function reserved(owner: string): ApiError {
  return new ApiError("reserved_owner", `Owner "${owner}" is reserved: it is the owner of LB_ADMIN_TOKEN, and a token for it would share the admin's jobs`, { field: "owner" });
}

function tokenView(t: ApiTokenInfo) {
  return {
    id: t.id, owner: t.owner, role: t.role, name: t.name, created_at: t.created_at.toISOString(), created_by: t.created_by,
    expires_at: t.expires_at ? t.expires_at.toISOString() : null,
  };
}

// An admin sees every live token (or one owner's, with ?owner=); a user their own.
async function list(ctx: ApiContext, req: Request, _p: string[], who: Principal): Promise<Response> {
  const limit = limitParam(req);
  const asked = textParam(req, "owner", 64);
  if (who.role !== "admin" && asked !== undefined && asked !== who.owner) {
    throw new ApiError("forbidden", `Only an admin may list the tokens of owner "${asked}"`, { parameter: "owner" });
  }
  const owner = who.role === "admin" ? asked : who.owner;
  const rows = await listApiTokens(ctx.pool, { owner, afterId: cursorParam(req, "string"), limit: limit + 1 });
  const page = rows.slice(0, limit);
  return { status: 200, body: { items: page.map(tokenView), next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null } };
}

async function revoke(ctx: ApiContext, req: Request, [id]: string[], who: Principal): Promise<Response> {
  const by = auditActor(req, who);
  const outcome = await revokeApiToken(ctx.pool, { tokenId: id!, owner: who.role === "admin" ? undefined : who.owner, now: new Date(ctx.clock()), by });
  // Another owner's token reads as missing to a user: its id tells nothing.
  if (outcome === "not_found") throw new ApiError("not_found", `API token "${id}" not found`);
  if (outcome === "revoked") ctx.log.info({ by: who.owner, token_id: id, request_id: by.requestId }, "api token revoked");
  return { status: 204 };
}

async function me(_ctx: ApiContext, _req: Request, _p: string[], who: Principal): Promise<Response> {
  return { status: 200, body: { owner: who.owner, role: who.role, token_id: who.tokenId } };
}

/** The token routes. */
export const tokenRoutes: Route[] = [
  { method: "POST", path: "/v1/enrollment-tokens", auth: true, handle: enrollmentToken },
  { method: "POST", path: "/v1/api-tokens", auth: true, handle: mint },
  { method: "GET", path: "/v1/api-tokens", auth: true, query: ["owner", "limit", "cursor"], handle: list },
  { method: "DELETE", path: "/v1/api-tokens/{id}", auth: true, handle: revoke },
  { method: "GET", path: "/v1/me", auth: true, handle: me },
];
