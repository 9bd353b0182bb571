// The API's uWebSockets.js HTTP server: every request is served under a request id (the
// caller's X-Request-Id when sane), goes through the route table, and comes out with that
// id in X-Request-Id and, for errors, in the structured error body.
import { listen, serveHttp, type RequestHead, type Response, type UwsModule } from "@labbridge/uws";
import type { ApiContext } from "./api_context.ts";
import { errorResponse } from "./api_error.ts";
import { requestIdFor } from "./request_id.ts";
import { route, routeTable, type Route } from "./router.ts";
import { agentRoutes } from "./routes/agents.ts";
import { auditRoutes } from "./routes/audit.ts";
import { dashboardRoutes } from "./routes/dashboard.ts";
import { jobEventRoutes } from "./routes/job_events.ts";
import { jobLogRoutes } from "./routes/job_logs.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { serviceRoutes } from "./routes/service.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { uploadRoutes } from "./routes/uploads.ts";
import { usageRoutes } from "./routes/usage.ts";

/** Largest request body: job specs are small, files never come here. */
export const BODY_LIMIT = 64 * 1024;

/** Every route of the API. */
export const ROUTES: Route[] = [
  ...serviceRoutes, ...jobRoutes, ...jobEventRoutes, ...jobLogRoutes, ...uploadRoutes, ...agentRoutes, ...tokenRoutes, ...auditRoutes, ...usageRoutes,
  ...dashboardRoutes,
];

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The context one request is served with: its id, and a logger that writes it on every line. */
function requestContext(ctx: ApiContext, head: RequestHead): ApiContext {
  const requestId = requestIdFor(head.headers["x-request-id"], ctx.clock());
  // The header now says the id the request is served under, for any code that reads it there.
  head.headers["x-request-id"] = requestId;
  return { ...ctx, requestId, log: ctx.log.child({ request_id: requestId }) };
}

function withRequestId(out: Response, requestId: string): Response {
  return { ...out, headers: { ...out.headers, "x-request-id": requestId } };
}

/** Starts the API; returns its port and a close function. */
export function startApiServer(ctx: ApiContext, uws: UwsModule): Promise<{ port: number; close: () => void }> {
  const app = uws.App();
  const table = routeTable(ROUTES);
  serveHttp(app, {
    bodyLimit: BODY_LIMIT,
    counters: { received: ctx.metrics.received, sent: ctx.metrics.sent },
    // Reached only when the body could not be read: the handler below answers its own errors.
    onError: (err, head) => {
      const rctx = requestContext(ctx, head);
      return withRequestId(errorResponse(err, rctx.log, rctx.requestId!), rctx.requestId!);
    },
  }, async (req) => {
    // Any token can come as a method: past the known ones, one label, so none can grow /metrics.
    ctx.metrics.requests.inc(1, { method: KNOWN_METHODS.has(req.method) ? req.method : "other" });
    const rctx = requestContext(ctx, req);
    let out: Response;
    try {
      out = await route(rctx, table, req);
    } catch (err) {
      out = errorResponse(err, rctx.log, rctx.requestId!);
    }
    return withRequestId(out, rctx.requestId!);
  });
  return listen(uws, app, ctx.config.host, ctx.config.apiPort);
}
