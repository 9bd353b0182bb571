// Bearer-token authentication of /v1 calls; tokens only ever come from the header.
import { authenticateApiToken, type Principal } from "@labbridge/store";
import type { Request } from "@labbridge/uws";
import type { ApiContext } from "./api_context.ts";
import { ApiError } from "./api_error.ts";

/** The caller of a request; throws 401 without a valid token. */
export async function authenticate(ctx: ApiContext, req: Request): Promise<Principal> {
  const header = req.headers.authorization;
  if (!header) throw new ApiError("unauthenticated", "Missing Authorization header: expected \"Bearer <token>\"");
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!m?.[1]) throw new ApiError("unauthenticated", "Malformed Authorization header: expected \"Bearer <token>\"");
  const principal = await authenticateApiToken(ctx.pool, m[1], ctx.config.adminToken);
  if (!principal) throw new ApiError("invalid_token", "Token is not valid or was revoked");
  return principal;
}

/** Throws 403 unless the caller is an admin. */
export function requireAdmin(p: Principal): void {
  if (p.role !== "admin") throw new ApiError("forbidden", "This call needs an admin token");
}
