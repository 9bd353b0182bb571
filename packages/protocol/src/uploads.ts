// Uploads of job inputs straight to object storage (API.md "Uploads"): the limits OSS sets,
// how a file is cut into parts, the answers the API gives, and the completion body. The API
// plans, the CLI and browsers follow the plan; both read the arithmetic from here.
import { isIntIn, type Problem } from "./check.ts";
import { fileNameProblem } from "./paths.ts";

/** Content-Type every upload PUT (single or part) is signed with and must send. */
export const UPLOAD_CONTENT_TYPE = "application/octet-stream";
/** Content-Type the CompleteMultipartUpload body is signed with and must send. */
export const COMPLETE_CONTENT_TYPE = "application/xml";
/** Smallest part OSS allows for any part but the last. */
export const MIN_PART_BYTES = 100 * 1024;
/** Largest part (and largest single PUT) OSS allows. */
export const MAX_PART_BYTES = 5 * 1024 ** 3;
/** Most parts one OSS multipart upload may have. */
export const MAX_PARTS = 10_000;
/** Largest object a multipart upload can make: 10,000 parts of 5 GiB (48.8 TiB). */
export const MAX_UPLOAD_BYTES = MAX_PARTS * MAX_PART_BYTES;
/** Part size when the deployment sets none. */
export const DEFAULT_PART_BYTES = 64 * 1024 ** 2;

/** One part URL of a multipart plan, with the headers its PUT must send (the plan's `headers` again, for clients that read them per part). */
export interface UploadPartUrl {
  number: number;
  url: string;
  /** Headers the PUT must carry; absent: none (the gateway leaves them out of its answers to agents, to keep them small). */
  headers?: Record<string, string>;
}

/** A presigned request the client sends as is. */
export interface SignedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

/** The answer for a file sent in one PUT. */
export interface SingleUploadPlan {
  upload_id: string;
  key: string;
  method: "PUT";
  url: string;
  headers: Record<string, string>;
  expires_at: string;
}

/** The answer for a file sent in parts, each PUT with `headers`, then completed. */
export interface MultipartUploadPlan {
  upload_id: string;
  key: string;
  method: "PUT";
  headers: Record<string, string>;
  part_size: number;
  parts: UploadPartUrl[];
  complete: SignedRequest;
  expires_at: string;
}

/** A part the store already holds. */
export interface HeldPart {
  number: number;
  size: number;
  etag: string;
}

/** GET /v1/uploads/{id} of a multipart upload: held parts, and fresh URLs for the rest. */
export interface MultipartUploadStatus extends MultipartUploadPlan {
  size: number;
  /** `uploading` while parts may be sent, `complete` once the object exists. */
  state: "uploading" | "complete";
  held: HeldPart[];
}

/** Bytes per part for a file of `size` bytes, or 0 when it goes in one PUT. */
export function planPartSize(size: number, partBytes: number): number {
  if (size <= partBytes) return 0;
  if (Math.ceil(size / partBytes) <= MAX_PARTS) return partBytes;
  // More than 10,000 parts of the configured size: grow the parts (whole MiB) to fit.
  const mib = 1024 ** 2;
  return Math.min(Math.ceil(size / MAX_PARTS / mib) * mib, MAX_PART_BYTES);
}

/** How many parts a file of `size` bytes has at `partSize` bytes each. */
export function partCount(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}

/** Byte range [start, end) of part `number` (from 1). */
export function partRange(number: number, partSize: number, size: number): { start: number; end: number } {
  const start = (number - 1) * partSize;
  return { start, end: Math.min(start + partSize, size) };
}

/** The CompleteMultipartUpload XML naming `parts` (ascending numbers, ETags as the PUTs returned them). */
export function completeUploadXml(parts: { number: number; etag: string }[]): string {
  const items = parts
    .map((p) => `<Part><PartNumber>${p.number}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`)
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload>${items}</CompleteMultipartUpload>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const UPLOAD_REQUEST_FIELDS = new Set(["name", "size", "sha256"]);

/** What is wrong with a POST /v1/uploads body (already known to be an object): empty when nothing. */
export function uploadRequestProblems(body: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  for (const field of Object.keys(body)) {
    if (!UPLOAD_REQUEST_FIELDS.has(field)) {
      problems.push({ field, reason: "is not a field of an upload: expected name, size or sha256", code: "unknown_field" });
    }
  }
  const nameProblem = fileNameProblem(body.name);
  if (nameProblem) problems.push({ field: "name", reason: nameProblem });
  if (!isIntIn(body.size, 0, MAX_UPLOAD_BYTES)) {
    problems.push({ field: "size", reason: `must be a whole number of bytes up to ${MAX_UPLOAD_BYTES} (10,000 parts of 5 GiB)` });
  }
  if (body.sha256 !== undefined && (typeof body.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(body.sha256))) {
    problems.push({ field: "sha256", reason: "must be 64 lowercase hex characters" });
  }
  return problems;
}
