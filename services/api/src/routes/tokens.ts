// Admin-only token issuing: one-use enrollment tokens for agents, and API tokens for
// users (an extension of API.md: the contract names roles but no way to mint tokens).
import { isIntIn, isObject, isStringRecord, unknownFieldProblems, type Problem } from "@labbridge/protocol";
import { createApiToken, createEnrollmentToken, type Principal } from "@labbridge/store";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { validationError } from "../api_error.ts";
import { requireAdmin } from "../auth.ts";
import { jsonBody } from "../request_body.ts";
import type { Route } from "../router.ts";

const MAX_ENROLLMENT_TTL = 7 * 86_400;

async function enrollmentToken(ctx: ApiContext, req: Request, _p: string[], who: Principal): Promise<Response> {
  requireAdmin(who);
  const body = jsonBody(req, true);
  if (!isObject(body)) throw validationError([{ field: "", reason: "must be a JSON object" }]);
  const ttl = body.ttl_seconds ?? 3600;
  const labels = body.labels ?? {};
  const problems: Problem[] = unknownFieldProblems(body, ["ttl_seconds", "labels"]);
  if (!isIntIn(ttl, 60, MAX_ENROLLMENT_TTL)) problems.push({ field: "ttl_seconds", reason: `must be a whole number from 60 to ${MAX_ENROLLMENT_TTL}` });
  if (!isStringRecord(labels)) problems.push({ field: "labels", reason: "must be an object of strings" });
  if (problems.length) throw validationError(problems);
  const { token, expiresAt } = await createEnrollmentToken(ctx.pool, {
    createdBy: who.owner, ttlSeconds: ttl as number, labels: labels as Record<string, string>, now: new Date(ctx.clock()),
  });
  ctx.log.info({ by: who.owner, expires_at: expiresAt.toISOString() }, "enrollment token created");
  return { status: 201, body: { token, expires_at: expiresAt.toISOString() } };
}

const API_TOKEN_FIELDS = ["owner", "role"] as const;

async function apiToken(ctx: ApiContext, req: Request, _p: string[], who: Principal): Promise<Response> {
  requireAdmin(who);
  const body = jsonBody(req);
  if (!isObject(body)) throw validationError([{ field: "", reason: "must be a JSON object" }]);
  const problems: Problem[] = unknownFieldProblems(body, API_TOKEN_FIELDS);
  if (typeof body.owner !== "string" || !/^[A-Za-z0-9_.@-]{1,64}$/.test(body.owner)) problems.push({ field: "owner", reason: "must be 1 to 64 letters, digits or _.@-" });
  const role = body.role ?? "user";
  if (role !== "user" && role !== "admin") problems.push({ field: "role", reason: 'must be "user" or "admin"' });
  if (problems.length) throw validationError(problems);
  const token = await createApiToken(ctx.pool, { owner: body.owner as string, role: role as "user" | "admin", now: new Date(ctx.clock()) });
  ctx.log.info({ by: who.owner, owner: body.owner, role }, "api token created");
  return { status: 201, body: { token, owner: body.owner, role } };
}

/** The token routes. */
export const tokenRoutes: Route[] = [
  { method: "POST", path: "/v1/enrollment-tokens", auth: true, handle: enrollmentToken },
  { method: "POST", path: "/v1/api-tokens", auth: true, handle: apiToken },
];
