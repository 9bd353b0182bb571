// Bearer-token authentication of /v1 calls; tokens only ever come from the header.
import { authenticateApiToken, type Principal } from "@labbridge/store";
import type { Request } from "@labbridge/uws";
import type { ApiContext } from "./api_context.ts";
import { ApiError } from "./api_error.ts";

const BEARER = /^Bearer\s+(\S+)$/i;

/** The bearer token of a request, or null when it sends none in the expected form. */
export function bearerToken(req: Request): string | null {
  return BEARER.exec((req.headers.authorization ?? "").trim())?.[1] ?? null;
}

/** The caller of a request; throws 401 without a valid token. */
export async function authenticate(ctx: ApiContext, req: Request): Promise<Principal> {
  if (!req.headers.authorization) throw new ApiError("unauthenticated", "Missing Authorization header: expected \"Bearer <token>\"");
  const token = bearerToken(req);
  if (!token) throw new ApiError("unauthenticated", "Malformed Authorization header: expected \"Bearer <token>\"");
  const principal = await authenticateApiToken(ctx.pool, token, ctx.config.adminToken);
  if (!principal) throw new ApiError("invalid_token", "Token is not valid or was revoked");
  ctx.recentTokens.remember(token, ctx.clock());
  return principal;
}

/** Throws 403 unless the caller is an admin. */
export function requireAdmin(p: Principal): void {
  if (p.role !== "admin") throw new ApiError("forbidden", "This call needs an admin token");
}
