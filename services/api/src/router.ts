// The route table: each route says its method, its path (`/v1/jobs/{id}/cancel`), the
// query parameters it takes and whether it needs a token; the router does the rest, once,
// so no handler can forget it: 404 for an unknown path, 405 with Allow for a known path
// and another method, 400 for a bad percent-encoding or an unknown query parameter, 401
// without a valid token, and 429 past the caller's budget (rate_limit.ts).
import type { Principal } from "@labbridge/store";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "./api_context.ts";
import { ApiError } from "./api_error.ts";
import { authenticate } from "./auth.ts";
import { chargeAuthFailure, checkAuthFailures, spendBudget, type BudgetName } from "./rate_limit.ts";

/** A handler of an authenticated route; `params` are the path's `{…}` segments, decoded, in order. */
export type Handler = (ctx: ApiContext, req: Request, params: string[], who: Principal) => Promise<Response>;
/** A handler of a public service route. */
export type PublicHandler = (ctx: ApiContext, req: Request) => Promise<Response>;

/** HTTP methods the API serves. */
export type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

interface RouteBase {
  method: Method;
  /** Literal segments and `{name}` placeholders, e.g. `/v1/jobs/{id}/cancel`; a trailing slash is tolerated. */
  path: string;
  /** The query parameters the route takes; any other is refused with 400 (none when absent). */
  query?: readonly string[];
}

/** One route. `budget` overrides the rate budget (default: `read` for GET, `write` otherwise). */
export type Route =
  | (RouteBase & { auth: true; budget?: BudgetName; handle: Handler })
  | (RouteBase & { auth: false; handle: PublicHandler });

/** The route table compiled for matching. */
export interface RouteTable {
  routes: { route: Route; segments: (string | null)[] }[];
}

/** Compiles routes; throws on a path that is not of the documented form (a bug, caught at start). */
export function routeTable(routes: Route[]): RouteTable {
  const seen = new Set<string>();
  return {
    routes: routes.map((route) => {
      if (!route.path.startsWith("/")) throw new Error(`Route path "${route.path}" must start with a slash`);
      const segments = route.path.split("/").slice(1).map((s) => (/^\{[a-z_]+\}$/.test(s) ? null : s));
      const shape = `${route.method} ${segments.map((s) => s ?? "{}").join("/")}`;
      if (seen.has(shape)) throw new Error(`Route "${route.method} ${route.path}" is declared twice`);
      seen.add(shape);
      return { route, segments };
    }),
  };
}

function matches(segments: (string | null)[], parts: string[]): string[] | null {
  if (segments.length !== parts.length) return null;
  const raw: string[] = [];
  for (const [i, s] of segments.entries()) {
    if (s === null) {
      if (parts[i] === "") return null;
      raw.push(parts[i]!);
    } else if (s !== parts[i]) return null;
  }
  return raw;
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    // Bad percent-encoding (`%`, `%ZZ`) or bytes that are not UTF-8 (`%E0%A4%A`, a lone surrogate's `%ED%A0%80`).
    throw new ApiError("malformed_url", `Invalid path segment "${raw}": not valid percent-encoded UTF-8`, { segment: raw });
  }
}

function checkQuery(req: Request, allowed: readonly string[]): void {
  for (const name of new Set(req.query.keys())) {
    if (!allowed.includes(name)) {
      const expected = allowed.length ? `expected ${allowed.join(", ")}` : "this endpoint takes none";
      throw new ApiError("unknown_parameter", `Unknown query parameter "${name}": ${expected}`, { parameter: name });
    }
    const n = req.query.getAll(name).length;
    if (n > 1) throw new ApiError("malformed_url", `Query parameter "${name}" is given ${n} times: expected once`, { parameter: name });
  }
}

/** Finds and runs the route for a request. */
export async function route(ctx: ApiContext, table: RouteTable, req: Request): Promise<Response> {
  const trimmed = req.path.length > 1 && req.path.endsWith("/") ? req.path.slice(0, -1) : req.path;
  const parts = trimmed.split("/").slice(1);
  const allowed: string[] = [];
  let found: { route: Route; raw: string[] } | null = null;
  for (const { route: r, segments } of table.routes) {
    const raw = matches(segments, parts);
    if (!raw) continue;
    allowed.push(r.method);
    if (r.method === req.method && !found) found = { route: r, raw };
  }
  if (!found) {
    if (allowed.length === 0) throw new ApiError("not_found", `No route for "${req.path}"`);
    const allow = [...new Set(allowed)].join(", ");
    throw new ApiError("method_not_allowed", `Method ${req.method} is not allowed on "${req.path}": expected ${allow}`, { allow }, { allow });
  }
  const { route: r, raw } = found;
  const params = raw.map(decodeSegment);
  if (!r.auth) {
    checkQuery(req, r.query ?? []);
    return r.handle(ctx, req);
  }
  await checkAuthFailures(ctx, req);
  let who: Principal;
  try {
    who = await authenticate(ctx, req);
  } catch (err) {
    if (err instanceof ApiError) await chargeAuthFailure(ctx, req);
    throw err;
  }
  await spendBudget(ctx, who, r.budget ?? (r.method === "GET" ? "read" : "write"));
  checkQuery(req, r.query ?? []);
  return r.handle(ctx, req, params, who);
}
