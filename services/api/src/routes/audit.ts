// GET /v1/audit (admin): the audit trail, newest first, filtered by what an investigation
// asks ("who revoked this token", "what did alice try yesterday"). A user's attempt to
// read it is refused and is itself on the trail.
import { auditPage, type AuditRow, type Principal } from "@labbridge/store";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { ApiError } from "../api_error.ts";
import { requireAdmin } from "../auth.ts";
import { cursorParam, encodeCursor, textParam, timeParam } from "../query_params.ts";
import { limitParam } from "../request_body.ts";
import type { Route } from "../router.ts";

/** Query parameters of GET /v1/audit. */
export const AUDIT_FILTERS = ["action", "actor", "target_type", "target_id", "result", "from", "to"] as const;

function auditView(r: AuditRow) {
  return {
    at: r.at.toISOString(), actor: r.actor, role: r.role, action: r.action, target_type: r.target_type, target_id: r.target_id,
    result: r.result, request_id: r.request_id, details: r.details,
  };
}

async function list(ctx: ApiContext, req: Request, _p: string[], who: Principal): Promise<Response> {
  await requireAdmin(ctx, req, who, { action: "audit.read", targetType: "audit_log", targetId: null });
  const from = timeParam(req, "from");
  const to = timeParam(req, "to");
  if (from && to && from.getTime() >= to.getTime()) throw new ApiError("validation_failed", `Invalid range: from "${from.toISOString()}" is not before to "${to.toISOString()}"`);
  const limit = limitParam(req);
  const page = await auditPage(ctx.pool, {
    action: textParam(req, "action", 64),
    actor: textParam(req, "actor", 128),
    targetType: textParam(req, "target_type", 32),
    targetId: textParam(req, "target_id", 128),
    result: textParam(req, "result", 32),
    from,
    to,
    beforeId: cursorParam(req, "number"),
    limit,
  });
  return { status: 200, body: { items: page.rows.map(auditView), next_cursor: page.nextBeforeId === null ? null : encodeCursor(page.nextBeforeId) } };
}

/** The audit route. */
export const auditRoutes: Route[] = [
  { method: "GET", path: "/v1/audit", auth: true, query: [...AUDIT_FILTERS, "limit", "cursor"], handle: list },
];
