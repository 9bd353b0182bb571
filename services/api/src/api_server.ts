// The API's uWebSockets.js HTTP server: every request goes through the route table, and
// every error comes out as the structured error body.
import { listen, serveHttp, type UwsModule } from "@labbridge/uws";
import type { ApiContext } from "./api_context.ts";
import { errorResponse } from "./api_error.ts";
import { route, type Route } from "./router.ts";
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

const ROUTES: Route[] = [
  ...serviceRoutes, ...jobRoutes, ...jobEventRoutes, ...jobLogRoutes, ...uploadRoutes, ...agentRoutes, ...tokenRoutes, ...auditRoutes, ...usageRoutes,
  ...dashboardRoutes,
];

/** Starts the API; returns its port and a close function. */
export function startApiServer(ctx: ApiContext, uws: UwsModule): Promise<{ port: number; close: () => void }> {
  const app = uws.App();
  serveHttp(app, {
    bodyLimit: BODY_LIMIT,
    counters: { received: ctx.metrics.received, sent: ctx.metrics.sent },
    onError: (err) => errorResponse(err, ctx.log),
  }, async (req) => {
    ctx.metrics.requests.inc(1, { method: req.method });
    return route(ctx, ROUTES, req);
  });
  return listen(uws, app, ctx.config.host, ctx.config.apiPort);
}
