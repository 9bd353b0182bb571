import type { IncomingMessage, ServerResponse } from "node:http";

// Browsers upload and download with presigned URLs too. Real OSS needs a CORS rule on the
// bucket for that; this store behaves as if every origin were allowed, so a browser client
// works in development without one.

const EXPOSED = "ETag, x-oss-request-id, Content-Length, Content-Range, Accept-Ranges, x-oss-object-type";

/** Adds the CORS headers a response to a browser request needs. */
export function addCorsHeaders(req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.origin === undefined) return;
  res.setHeader("Access-Control-Allow-Origin", "*");
  res.setHeader("Access-Control-Expose-Headers", EXPOSED);
}

/** Answers a CORS preflight request. */
export function replyPreflight(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, PUT, POST, DELETE, HEAD",
    "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "*",
    "Access-Control-Expose-Headers": EXPOSED,
    "Access-Control-Max-Age": "600",
    "Content-Length": 0,
  });
  res.end();
}
