// Service endpoints without auth: /healthz, /readyz, /metrics, /openapi.json.
import { checkReadiness } from "@labbridge/runtime";
import type { ApiContext } from "../api_context.ts";
import { openApiDocument } from "../openapi.ts";
import type { Route } from "../router.ts";

/** The service routes. */
export const serviceRoutes: Route[] = [
  { method: "GET", path: "/healthz", auth: false, handle: async () => ({ status: 200, body: { ok: true } }) },
  {
    method: "GET", path: "/readyz", auth: false,
    handle: async (ctx: ApiContext) => {
      const r = await checkReadiness(ctx);
      return { status: r.ready ? 200 : 503, body: r };
    },
  },
  {
    method: "GET", path: "/metrics", auth: false,
    handle: async (ctx: ApiContext) => ({ status: 200, text: ctx.metrics.registry.render(), contentType: "text/plain; version=0.0.4" }),
  },
  { method: "GET", path: "/openapi.json", auth: false, handle: async () => ({ status: 200, body: openApiDocument }) },
];
