// The dashboard's static files: GET / (index.html) and /assets/<name>. Only names in the
// table built at start are answered (dashboard_files.ts); the page itself talks to /v1 with
// the user's token in the Authorization header, and to the object store for uploads.
import { objectOrigin } from "@labbridge/storage";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { ApiError } from "../api_error.ts";
import type { Route } from "../router.ts";

// The page runs only its own script and style and connects only to the API and the store:
// a script injected through a job's name or log line (rendered as text anyway) could not
// send a token elsewhere.
function securityHeaders(ctx: ApiContext): Record<string, string> {
  const store = objectOrigin(ctx.config.storage);
  return {
    "content-security-policy":
      `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ${store}; ` +
      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    // Presigned download links must not carry the dashboard's address to the store, nor the reverse.
    "referrer-policy": "no-referrer",
  };
}

async function serve(ctx: ApiContext, req: Request): Promise<Response> {
  const files = ctx.dashboard;
  if (!files) throw new ApiError("not_found", `Dashboard is not built: run "npm run build"`);
  const file = files.get(req.path);
  if (!file) throw new ApiError("not_found", `No dashboard file "${req.path}"`);
  const headers: Record<string, string> = { "cache-control": file.cacheControl, etag: file.etag, vary: "accept-encoding", ...securityHeaders(ctx) };
  if (req.headers["if-none-match"]?.split(/\s*,\s*/).includes(file.etag)) return { status: 304, headers, text: "" };
  const gzip = file.gzip && /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
  if (gzip) headers["content-encoding"] = "gzip";
  return { status: 200, headers, contentType: file.contentType, bytes: gzip ? file.gzip! : file.body };
}

/** The dashboard routes: the page and its hashed assets, nothing else outside /v1. */
export const dashboardRoutes: Route[] = [
  { method: "GET", path: "/", auth: false, handle: serve },
  { method: "GET", path: "/index.html", auth: false, handle: serve },
  { method: "GET", path: "/assets/{name}", auth: false, handle: serve },
];
