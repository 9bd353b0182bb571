// GET /v1/usage: GPU-hours and wall-hours of attempts over [from, to), per owner or per
// agent (packages/store/src/usage_report.ts counts them). A user sees only their own use;
// ?owner= naming someone else is a 403, as on GET /v1/jobs.
import type { Principal, UsageGroupBy } from "@labbridge/store";
import { usageReport } from "@labbridge/store";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { ApiError } from "../api_error.ts";
import { textParam, timeParam } from "../query_params.ts";
import type { Route } from "../router.ts";

/** Range when none is given: the 30 days up to now. */
const DEFAULT_RANGE_MS = 30 * 86_400_000;
const MS_PER_HOUR = 3_600_000;

/** Hours to 6 decimals (3.6 ms): exact enough for any bill, short enough to read. */
const hours = (ms: number) => Math.round((ms / MS_PER_HOUR) * 1e6) / 1e6;

async function usage(ctx: ApiContext, req: Request, _p: string[], who: Principal): Promise<Response> {
  const now = new Date(ctx.clock());
  const to = timeParam(req, "to") ?? now;
  const from = timeParam(req, "from") ?? new Date(to.getTime() - DEFAULT_RANGE_MS);
  if (from.getTime() >= to.getTime()) throw new ApiError("validation_failed", `Invalid range: from "${from.toISOString()}" is not before to "${to.toISOString()}"`);
  const groupBy = req.query.get("group_by") ?? "owner";
  if (groupBy !== "owner" && groupBy !== "agent") throw new ApiError("validation_failed", `Invalid group_by "${groupBy.slice(0, 32)}": expected owner or agent`, { parameter: "group_by" });
  const asked = textParam(req, "owner", 64);
  if (who.role !== "admin" && asked !== undefined && asked !== who.owner) {
    throw new ApiError("forbidden", `Only an admin may read the usage of owner "${asked}"`, { parameter: "owner" });
  }
  const rows = await usageReport(ctx.pool, { from, to, groupBy: groupBy as UsageGroupBy, now, owner: who.role === "admin" ? asked : who.owner });
  const keyName = groupBy === "owner" ? "owner" : "agent_id";
  return {
    status: 200,
    body: {
      from: from.toISOString(), to: to.toISOString(), group_by: groupBy,
      items: rows.map((r) => ({ [keyName]: r.key, attempts: r.attempts, gpu_hours: hours(r.gpuMs), wall_hours: hours(r.wallMs) })),
    },
  };
}

/** The usage route. */
export const usageRoutes: Route[] = [
  { method: "GET", path: "/v1/usage", auth: true, query: ["from", "to", "group_by", "owner"], handle: usage },
];
