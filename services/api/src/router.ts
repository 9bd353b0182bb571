// The route table: method + path pattern → handler. /v1 routes are authenticated here,
// once, so no handler can forget it.
import type { Principal } from "@labbridge/store";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "./api_context.ts";
import { ApiError } from "./api_error.ts";
import { authenticate } from "./auth.ts";

/** A handler of an authenticated route. */
export type Handler = (ctx: ApiContext, req: Request, params: string[], who: Principal) => Promise<Response>;
/** A handler of a public service route. */
export type PublicHandler = (ctx: ApiContext, req: Request) => Promise<Response>;

/** One route. */
export type Route =
  | { method: string; path: RegExp; auth: true; handle: Handler }
  | { method: string; path: RegExp; auth: false; handle: PublicHandler };

/** Finds and runs the route for a request. */
export async function route(ctx: ApiContext, routes: Route[], req: Request): Promise<Response> {
  let pathMatched = false;
  for (const r of routes) {
    const m = r.path.exec(req.path);
    if (!m) continue;
    pathMatched = true;
    if (r.method !== req.method) continue;
    if (!r.auth) return r.handle(ctx, req);
    const who = await authenticate(ctx, req);
    return r.handle(ctx, req, m.slice(1).map(decodeURIComponent), who);
  }
  if (pathMatched) throw new ApiError("not_found", `Method ${req.method} is not supported on "${req.path}"`);
  throw new ApiError("not_found", `No route for "${req.path}"`);
}
