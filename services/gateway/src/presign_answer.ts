// Builds the entries of a presign.response: one presigned PUT per file, or for a file over
// the part size (and an agent that said `multipart`) a multipart plan whose part URLs are
// handed out a few at a time. The gateway makes the small control call that starts a
// multipart upload (InitiateMultipartUpload, no file bytes); everything else is a signed
// URL the agent sends itself. Part URLs fill what room the frame has left, so an answer is
// sized by its bytes before any upload is started: a request that could not fit starts
// nothing and is refused, and the agent asks for fewer files at a time.
import {
  attemptPrefix,
  MAX_FRAME_BYTES,
  MAX_PART_BYTES,
  MAX_UPLOAD_BYTES,
  partCount,
  planPartSize,
  type MultipartUploadUrls,
  type PresignedUpload,
  type PresignFile,
  type PresignRequestMessage,
  type PresignResponseMessage,
  type SignedRequest,
  UPLOAD_CONTENT_TYPE,
} from "@labbridge/protocol";
import { objectKeyProblem, type ObjectStorage } from "@labbridge/storage";

/**
 * Part URLs one answer hands out per file at most, whatever room is left: they expire
 * (presignSeconds), and 16 parts of 64 MiB take 14 minutes even at 10 Mbit/s.
 */
export const MAX_PART_URLS_PER_ANSWER = 16;
/** Stands in for an upload id while an answer is sized (OSS ids are 32 hex characters). */
const PLACEHOLDER_UPLOAD_ID = "0".repeat(64);

/** What the answer builder needs from the gateway. */
export interface PresignAnswerInput {
  storage: ObjectStorage;
  presignSeconds: number;
  partBytes: number;
  jobId: string;
  msg: PresignRequestMessage;
}

/** What one file gets: a single PUT, or parts of a multipart upload (new, or going on). */
type Plan =
  | { kind: "single"; file: PresignFile; key: string }
  | { kind: "multipart"; file: PresignFile; key: string; partSize: number; uploadId: string | null; wanted: number[] };

/** Why a request cannot be answered. */
export class PresignProblem extends Error {
  constructor(readonly code: "validation_failed" | "payload_too_large", message: string) {
    super(message);
  }
}

function planFile(input: PresignAnswerInput, file: PresignFile): Plan {
  const key = attemptPrefix(input.jobId, input.msg.attempt_id) + file.path;
  const keyProblem = objectKeyProblem(key);
  if (keyProblem) throw new PresignProblem("validation_failed", `Invalid upload path "${file.path}": its key ${keyProblem}`);
  const partSize = planPartSize(file.size, input.partBytes);
  if (file.upload_id !== undefined) {
    if (partSize === 0) throw new PresignProblem("validation_failed", `Invalid upload "${file.path}": ${file.size} bytes go in one PUT, not in parts`);
    const count = partCount(file.size, partSize);
    const beyond = (file.parts ?? []).find((n) => n > count);
    if (beyond !== undefined) throw new PresignProblem("validation_failed", `Invalid part ${beyond} of "${file.path}": it has ${count} parts`);
    return { kind: "multipart", file, key, partSize, uploadId: file.upload_id, wanted: [...new Set(file.parts ?? [])] };
  }
  if (file.size > MAX_UPLOAD_BYTES) throw new PresignProblem("validation_failed", `Invalid upload "${file.path}": ${file.size} bytes are over the store's ${MAX_UPLOAD_BYTES}-byte limit`);
  if (partSize > 0 && input.msg.multipart) {
    const count = partCount(file.size, partSize);
    return { kind: "multipart", file, key, partSize, uploadId: null, wanted: Array.from({ length: Math.min(count, MAX_PART_URLS_PER_ANSWER) }, (_, i) => i + 1) };
  }
  if (file.size > MAX_PART_BYTES) {
    throw new PresignProblem("validation_failed", `Invalid upload "${file.path}": ${file.size} bytes are over the ${MAX_PART_BYTES}-byte limit of one PUT: an agent that uploads in parts is needed`);
  }
  return { kind: "single", file, key };
}

function signed(r: { method: string; url: string; headers: Record<string, string> }): SignedRequest {
  return { method: r.method, url: r.url, headers: r.headers };
}

function entry(input: PresignAnswerInput, plan: Plan, uploadId: string, parts: number[]): PresignedUpload {
  const { storage, presignSeconds: s, msg } = input;
  if (plan.kind === "single") {
    const put = storage.presignPut(plan.key, s);
    // Compact: the agent knows the key (prefix + path) and the method; a URL is what it lacks.
    if (msg.compact) return Object.keys(put.headers).length ? { path: plan.file.path, url: put.url, headers: put.headers } : { path: plan.file.path, url: put.url };
    return { path: plan.file.path, key: plan.key, url: put.url, method: "PUT", headers: put.headers };
  }
  const multipart: MultipartUploadUrls = {
    upload_id: uploadId,
    part_size: plan.partSize,
    parts: parts.map((number) => ({ number, url: storage.presignUploadPart(plan.key, uploadId, number, s).url })),
    complete: signed(storage.presignCompleteUpload(plan.key, uploadId, s)),
    abort: signed(storage.presignAbortUpload(plan.key, uploadId, s)),
  };
  if (msg.compact) return { path: plan.file.path, multipart };
  return { path: plan.file.path, key: plan.key, method: "PUT", headers: {}, multipart };
}

const answerBytes = (requestId: string, uploads: PresignedUpload[]) =>
  Buffer.byteLength(JSON.stringify({ type: "presign.response", request_id: requestId, uploads, error: null } satisfies PresignResponseMessage));

/** Part URLs each multipart file gets so that the whole answer fits a frame (at least one each where any is wanted). */
function fitParts(input: PresignAnswerInput, plans: Plan[]): number[] {
  const idOf = (p: Plan) => (p.kind === "multipart" && p.uploadId) || PLACEHOLDER_UPLOAD_ID;
  const taken = plans.map((p) => (p.kind === "multipart" ? Math.min(1, p.wanted.length) : 0));
  const sized = plans.map((p, i) => entry(input, p, idOf(p), p.kind === "multipart" ? p.wanted.slice(0, taken[i]) : []));
  let bytes = answerBytes(input.msg.request_id, sized);
  if (bytes > MAX_FRAME_BYTES) {
    throw new PresignProblem(
      "payload_too_large",
      `Upload URLs for ${plans.length} files take ${bytes} bytes, over the ${MAX_FRAME_BYTES}-byte frame limit: ask for fewer files per request`,
    );
  }
  // Round robin, so every big file of the batch gets going rather than the first one hoarding the room.
  for (let grew = true; grew;) {
    grew = false;
    plans.forEach((p, i) => {
      if (p.kind !== "multipart" || taken[i]! >= p.wanted.length) return;
      const url = input.storage.presignUploadPart(p.key, idOf(p), p.wanted[taken[i]!]!, input.presignSeconds).url;
      const more = Buffer.byteLength(JSON.stringify({ number: p.wanted[taken[i]!], url })) + 1;
      if (bytes + more > MAX_FRAME_BYTES) return;
      bytes += more;
      taken[i]!++;
      grew = true;
    });
  }
  return taken;
}

/** The answer's entries, in request order; starts the multipart uploads it hands out. Throws PresignProblem. */
export async function presignAnswer(input: PresignAnswerInput): Promise<{ uploads: PresignedUpload[]; started: { path: string; uploadId: string; parts: number }[] }> {
  const plans = input.msg.files.map((f) => planFile(input, f));
  const taken = fitParts(input, plans);
  const started: { path: string; uploadId: string; parts: number }[] = [];
  const uploads = await Promise.all(plans.map(async (p, i) => {
    if (p.kind === "single") return entry(input, p, "", []);
    let uploadId = p.uploadId;
    if (uploadId === null) {
      uploadId = await input.storage.initiateUpload(p.key, UPLOAD_CONTENT_TYPE);
      started.push({ path: p.file.path, uploadId, parts: partCount(p.file.size, p.partSize) });
    }
    return entry(input, p, uploadId, p.wanted.slice(0, taken[i]));
  }));
  return { uploads, started };
}
