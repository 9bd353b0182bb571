// /v1/uploads: where a new input goes. The client sends the bytes straight to object storage,
// in one presigned PUT or, above the part size, in presigned part PUTs and a completion; the
// API keeps the name, size and sha256, and only signs (listing parts is a control call).
import {
  ID_PREFIX, inputKey, isObject, newId, partCount, planPartSize, UPLOAD_CONTENT_TYPE,
  uploadRequestProblems, type MultipartUploadPlan, type MultipartUploadStatus, type SingleUploadPlan,
} from "@labbridge/protocol";
import { getUpload, recordUpload, type Principal, type UploadRecord } from "@labbridge/store";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { ApiError, validationError } from "../api_error.ts";
import { jsonBody } from "../request_body.ts";
import type { Route } from "../router.ts";


async function create(ctx: ApiContext, req: Request, _p: string[], who: Principal): Promise<Response> {
  const body = jsonBody(req);
  if (!isObject(body)) throw validationError([{ field: "", reason: "must be a JSON object" }]);
  const problems = uploadRequestProblems(body);
  if (problems.length) throw validationError(problems);
  const now = ctx.clock();
  const id = newId(ID_PREFIX.upload, now);
  const name = body.name as string;
  const size = body.size as number;
  const key = inputKey(id, name);
  const partSize = planPartSize(size, ctx.config.uploadPartBytes);
  // The multipart upload is started before the row is written: a row always names a real one.
  const storeUploadId = partSize ? await ctx.storage.initiateUpload(key, UPLOAD_CONTENT_TYPE) : null;
  const record: UploadRecord = {
    id, owner: who.owner, key, name, size, sha256: (body.sha256 as string) ?? null, storeUploadId, partSize: partSize || null,
  };
  await recordUpload(ctx.pool, { ...record, now: new Date(now) });
  ctx.log.info({ upload_id: id, owner: who.owner, size, part_size: partSize || null }, "upload planned");
  const parts = partSize ? Array.from({ length: partCount(size, partSize) }, (_, i) => i + 1) : [];
  return { status: 201, body: partSize ? multipartPlan(ctx, record, parts) : singlePlan(ctx, record) };
}

async function status(ctx: ApiContext, _req: Request, params: string[], who: Principal): Promise<Response> {
  const id = params[0] ?? "";
  const record = await getUpload(ctx.pool, id);
  // Another user's upload is reported as missing, not forbidden: its id tells nothing.
  if (!record || (who.role !== "admin" && record.owner !== who.owner)) throw new ApiError("not_found", `Upload "${id}" not found`);
  if (!record.storeUploadId || !record.partSize) {
    const stored = await ctx.storage.objectSize(record.key);
    return { status: 200, body: { ...singlePlan(ctx, record), size: record.size, state: stored === record.size ? "complete" : "uploading" } };
  }
  const held = await ctx.storage.listUploadedParts(record.key, record.storeUploadId);
  if (held === null) {
    // The store forgot the upload: completed (the object is there) or aborted.
    if ((await ctx.storage.objectSize(record.key)) === null) {
      throw new ApiError("not_found", `Upload "${id}" is no longer in the store: start a new upload`);
    }
    const done: MultipartUploadStatus = { ...multipartPlan(ctx, record, []), size: record.size, state: "complete", held: [] };
    return { status: 200, body: done };
  }
  const total = partCount(record.size, record.partSize);
  const heldNumbers = new Set(held.map((p) => p.number));
  const remaining = Array.from({ length: total }, (_, i) => i + 1).filter((n) => !heldNumbers.has(n));
  const answer: MultipartUploadStatus = {
    ...multipartPlan(ctx, record, remaining), size: record.size, state: "uploading",
    held: held.map((p) => ({ number: p.number, size: p.size, etag: p.etag })),
  };
  return { status: 200, body: answer };
}

function singlePlan(ctx: ApiContext, record: UploadRecord): SingleUploadPlan {
  const signed = ctx.storage.presignPut(record.key, ctx.config.presignSeconds, UPLOAD_CONTENT_TYPE);
  return { upload_id: record.id, key: record.key, method: "PUT", url: signed.url, headers: signed.headers, expires_at: signed.expiresAt };
}

function multipartPlan(ctx: ApiContext, record: UploadRecord, numbers: number[]): MultipartUploadPlan {
  const seconds = ctx.config.presignSeconds;
  const uploadId = record.storeUploadId!;
  const complete = ctx.storage.presignCompleteUpload(record.key, uploadId, seconds);
  return {
    upload_id: record.id,
    key: record.key,
    method: "PUT",
    headers: { "Content-Type": UPLOAD_CONTENT_TYPE },
    part_size: record.partSize!,
    parts: numbers.map((number) => {
      const part = ctx.storage.presignUploadPart(record.key, uploadId, number, seconds, UPLOAD_CONTENT_TYPE);
      return { number, url: part.url, headers: part.headers };
    }),
    complete: { method: complete.method, url: complete.url, headers: complete.headers },
    expires_at: complete.expiresAt,
  };
}

/** The upload routes. */
export const uploadRoutes: Route[] = [
  { method: "POST", path: "/v1/uploads", auth: true, handle: create },
  { method: "GET", path: "/v1/uploads/{id}", auth: true, handle: status },
];
