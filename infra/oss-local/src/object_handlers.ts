import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { parseRange } from "./byte_range.ts";
import { reply } from "./http_reply.ts";
import type { ObjectMeta } from "./object_files.ts";
import { noSuchKey } from "./oss_error.ts";
import { receiveBody } from "./receive_body.ts";
import type { RequestTarget } from "./request_target.ts";
import type { StoreContext } from "./store_context.ts";
import { contentTypeOf, storedHeadersOf, userMetaOf } from "./upload_headers.ts";
import { headerValue } from "./v1_signing.ts";

// PutObject, GetObject, HeadObject and DeleteObject. Bodies are streamed to and from disk.

/** Query parameters that override a response header of GetObject, as in OSS. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  "response-content-type": "Content-Type",
  "response-content-language": "Content-Language",
  "response-expires": "Expires",
  "response-cache-control": "Cache-Control",
  "response-content-disposition": "Content-Disposition",
  "response-content-encoding": "Content-Encoding",
};

/** PUT /key: stores the body, replacing any object of that key. */
export async function putObject(store: StoreContext, req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
  const body = await receiveBody(store.layout, req, headerValue(req.headers, "content-md5"));
  const meta = await store.objects.commit(
    {
      key: target.key,
      size: body.size,
      etag: `"${body.md5.toString("hex").toUpperCase()}"`,
      contentType: contentTypeOf(req.headers),
      lastModified: new Date(store.clock()).toUTCString(),
      objectType: "Normal",
      userMeta: userMetaOf(req.headers),
      storedHeaders: storedHeadersOf(req.headers),
    },
    body.path,
    headerValue(req.headers, "x-oss-forbid-overwrite").toLowerCase() === "true",
  );
  reply(res, 200, { ETag: meta.etag, "Content-MD5": body.md5.toString("base64") });
}

/** GET or HEAD /key: the object, or the byte range asked for. */
export async function getObject(store: StoreContext, req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
  const opened = await store.objects.open(target.key);
  if (!opened) throw noSuchKey(target.key);
  const { meta, handle } = opened;
  let streaming = false;
  try {
    const range = parseRange(headerValue(req.headers, "range"), meta.size);
    const headers: Record<string, string | number> = {
      ...objectHeaders(meta),
      ...responseOverrides(target),
      "Content-Length": range ? range.end - range.start + 1 : meta.size,
    };
    if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${meta.size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === "HEAD" || meta.size === 0) {
      res.end();
      return;
    }
    streaming = true;
    const stream = handle.createReadStream({ start: range?.start ?? 0, end: range?.end ?? meta.size - 1, autoClose: true });
    await pipeline(stream, res);
  } finally {
    if (!streaming) await handle.close();
  }
}

/** DELETE /key: 204 whether or not the object existed. */
export async function deleteObject(store: StoreContext, res: ServerResponse, target: RequestTarget): Promise<void> {
  await store.objects.delete(target.key);
  reply(res, 204, {});
}

function objectHeaders(meta: ObjectMeta): Record<string, string> {
  const stored = Object.fromEntries(Object.entries(meta.storedHeaders).map(([name, value]) => [titleCase(name), value]));
  return {
    "Content-Type": meta.contentType,
    ETag: meta.etag,
    "Last-Modified": meta.lastModified,
    "Accept-Ranges": "bytes",
    "x-oss-object-type": meta.objectType,
    "x-oss-storage-class": "Standard",
    ...stored,
    ...meta.userMeta,
  };
}

function responseOverrides(target: RequestTarget): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = target.query.get(param);
    if (value) headers[header] = value;
  }
  return headers;
}

function titleCase(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}
