import type { ServerResponse } from "node:http";
import { errorXml, OssError } from "./oss_error.ts";

/** Sends a complete response with a body (XML) or none. */
export function reply(res: ServerResponse, status: number, headers: Record<string, string | number>, body?: string): void {
  const payload = body === undefined ? undefined : Buffer.from(body, "utf8");
  res.writeHead(status, {
    ...headers,
    ...(payload ? { "Content-Type": "application/xml", "Content-Length": payload.length } : { "Content-Length": 0 }),
  });
  res.end(payload);
}

/** Sends `error` as OSS does: an <Error> body, or for HEAD the same XML base64 in x-oss-err. */
export function replyError(res: ServerResponse, method: string, error: OssError, requestId: string): void {
  const xml = errorXml(error, requestId);
  if (method === "HEAD") {
    // ali-oss decodes x-oss-err to report the real code of a failed HEAD.
    reply(res, error.status, { "x-oss-err": Buffer.from(xml, "utf8").toString("base64") });
  } else {
    reply(res, error.status, {}, xml);
  }
}

/** The OssError a thrown value answers as: itself, or 500 InternalError. */
export function asOssError(error: unknown): OssError {
  if (error instanceof OssError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new OssError(500, "InternalError", `Internal error: ${detail}`);
}
