import type { IncomingMessage, ServerResponse } from "node:http";
import { parseCompleteRequest } from "./complete_request.ts";
import { reply } from "./http_reply.ts";
import { MAX_PART_NUMBER } from "./multipart_uploads.ts";
import { invalidArgument, OssError } from "./oss_error.ts";
import { receiveBody } from "./receive_body.ts";
import type { RequestTarget } from "./request_target.ts";
import type { StoreContext } from "./store_context.ts";
import { contentTypeOf, storedHeadersOf, userMetaOf } from "./upload_headers.ts";
import { headerValue } from "./v1_signing.ts";
import { xmlDocument } from "./xml.ts";

// The HTTP side of multipart uploads: InitiateMultipartUpload, UploadPart,
// CompleteMultipartUpload, AbortMultipartUpload and ListParts.

/** 10,000 parts of about 100 bytes of XML each, with room to spare. */
const MAX_COMPLETE_BODY_BYTES = 4 * 1024 * 1024;

/** POST /key?uploads: starts an upload. */
export async function initiateUpload(store: StoreContext, req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
  const uploadId = await store.uploads.initiate({
    key: target.key,
    contentType: contentTypeOf(req.headers),
    userMeta: userMetaOf(req.headers),
    storedHeaders: storedHeadersOf(req.headers),
    initiated: new Date(store.clock()).toISOString(),
  });
  reply(res, 200, {}, xmlDocument("InitiateMultipartUploadResult", { Bucket: store.bucket, Key: target.key, UploadId: uploadId }));
}

/** PUT /key?partNumber=N&uploadId=ID: stores one part. */
export async function uploadPart(store: StoreContext, req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
  const uploadId = target.query.get("uploadId") ?? "";
  const rawNumber = target.query.get("partNumber") ?? "";
  const partNumber = Number(rawNumber);
  if (!/^\d{1,5}$/.test(rawNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw invalidArgument(`Invalid partNumber ${JSON.stringify(rawNumber)}: must be 1 to ${MAX_PART_NUMBER}`, {
      ArgumentName: "partNumber",
    });
  }
  // Refuse before receiving a body nobody could use.
  await store.uploads.record(target.key, uploadId);
  const body = await receiveBody(store.layout, req, headerValue(req.headers, "content-md5"));
  const etag = await store.uploads.putPart(target.key, uploadId, partNumber, body);
  reply(res, 200, { ETag: etag, "Content-MD5": body.md5.toString("base64") });
}

/** POST /key?uploadId=ID: joins the listed parts into the object. */
export async function completeUpload(store: StoreContext, req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
  const uploadId = target.query.get("uploadId") ?? "";
  await store.uploads.record(target.key, uploadId);
  const parts = parseCompleteRequest(await readSmallBody(req, MAX_COMPLETE_BODY_BYTES));
  const meta = await store.uploads.complete(target.key, uploadId, parts);
  const location = `${store.url}/${encodeURIComponent(target.key).replace(/%2F/g, "/")}`;
  reply(
    res,
    200,
    { ETag: meta.etag },
    xmlDocument("CompleteMultipartUploadResult", { Location: location, Bucket: store.bucket, Key: target.key, ETag: meta.etag }),
  );
}

/** DELETE /key?uploadId=ID: drops the upload and its parts. */
export async function abortUpload(store: StoreContext, res: ServerResponse, target: RequestTarget): Promise<void> {
  await store.uploads.abort(target.key, target.query.get("uploadId") ?? "");
  reply(res, 204, {});
}

/** GET /key?uploadId=ID: the parts uploaded so far, honouring max-parts and part-number-marker. */
export async function listParts(store: StoreContext, res: ServerResponse, target: RequestTarget): Promise<void> {
  const uploadId = target.query.get("uploadId") ?? "";
  const maxParts = boundedInt(target.query.get("max-parts"), "max-parts", 1000, 1, 1000);
  const marker = boundedInt(target.query.get("part-number-marker"), "part-number-marker", 0, 0, MAX_PART_NUMBER);
  const after = (await store.uploads.listParts(target.key, uploadId)).filter((p) => p.partNumber > marker);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  reply(
    res,
    200,
    {},
    xmlDocument("ListPartsResult", {
      Bucket: store.bucket,
      Key: target.key,
      UploadId: uploadId,
      PartNumberMarker: marker,
      NextPartNumberMarker: page.at(-1)?.partNumber ?? marker,
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: page.map((p) => ({
        PartNumber: p.partNumber,
        LastModified: p.lastModified,
        ETag: p.etag,
        Size: p.size,
      })),
    }),
  );
}

async function readSmallBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new OssError(400, "EntityTooLarge", `Complete request body is over ${limit} bytes: list fewer parts`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function boundedInt(raw: string | null | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === null || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw invalidArgument(`Invalid ${name} ${JSON.stringify(raw)}: must be ${min} to ${max}`, { ArgumentName: name });
  }
  return value;
}
