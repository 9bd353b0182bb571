// Bearer-token authentication of /v1 calls; tokens only ever come from the header. A user's
// attempt at an admin call is refused (403) and put on the audit trail.
import { recordAudit, authenticateApiToken, type AuditActor, type Principal } from "@labbridge/store";
import type { Request } from "@labbridge/uws";
import type { ApiContext } from "./api_context.ts";
import { ApiError } from "./api_error.ts";
import { requestIdOf } from "./request_id.ts";

const BEARER = /^Bearer\s+(\S+)$/i;

/** The bearer token of a request, or null when it sends none in the expected form. */
export function bearerToken(req: Request): string | null {
  return BEARER.exec((req.headers.authorization ?? "").trim())?.[1] ?? null;
}

/** The caller of a request; throws 401 without a valid, unexpired token. */
export async function authenticate(ctx: ApiContext, req: Request): Promise<Principal> {
  if (!req.headers.authorization) throw new ApiError("unauthenticated", "Missing Authorization header: expected \"Bearer <token>\"");
  const token = bearerToken(req);
  if (!token) throw new ApiError("unauthenticated", "Malformed Authorization header: expected \"Bearer <token>\"");
  const checked = await authenticateApiToken(ctx.pool, token, ctx.config.adminToken, new Date(ctx.clock()));
  if (checked.status === "expired") throw new ApiError("token_expired", `Token "${checked.tokenId}" has expired: ask an admin for a new one`, { token_id: checked.tokenId });
  if (checked.status !== "ok") throw new ApiError("invalid_token", "Token is not valid or was revoked");
  ctx.recentTokens.remember(token, ctx.clock());
  return checked.principal;
}

/** The caller as the audit trail names it. */
export function auditActor(req: Request, who: Principal): AuditActor {
  return { actor: who.owner, role: who.role, requestId: requestIdOf(req) };
}

/** What an admin call acts on, for the audit row of a refusal. */
export interface AdminAct {
  /** The action the call would have recorded, e.g. `agent.paused`. */
  action: string;
  targetType: string;
  targetId: string | null;
}

/**
 * Throws 403 unless the caller is an admin, recording the refused act first: a user probing
 * admin calls is what an audit trail is for. A row that cannot be written is logged, and the
 * refusal stands regardless.
 */
export async function requireAdmin(ctx: ApiContext, req: Request, who: Principal, act: AdminAct): Promise<void> {
  if (who.role === "admin") return;
  const by = auditActor(req, who);
  await recordAudit(ctx.pool, {
    at: new Date(ctx.clock()), actor: by.actor, role: by.role, action: act.action, target_type: act.targetType,
    // The target comes from the caller's path: cut to the column's width, as the path is in details.
    target_id: act.targetId === null ? null : act.targetId.slice(0, 128),
    result: "refused", request_id: by.requestId, details: { reason: "needs an admin token", method: req.method, path: req.path.slice(0, 512) },
  }).catch((err) => ctx.log.warn({ action: act.action, err: (err as Error).message }, "audit row of a refused call not recorded"));
  ctx.log.info({ owner: who.owner, action: act.action, target_id: act.targetId, request_id: by.requestId }, "admin call refused");
  throw new ApiError("forbidden", "This call needs an admin token");
}
