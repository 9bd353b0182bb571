// Asks the gateway for presigned PUT URLs over the socket. A request lost with a dropped
// connection is asked again (with a new request_id) after the next welcome; a gateway that
// does not answer at all is given a few tries, then the upload counts as failed.
//
// A response carries one long presigned URL per file, and no frame may pass
// MAX_FRAME_BYTES, so files are asked for in batches sized by the bytes their answer will
// take (presignBatches); a gateway that still finds the answer too big says
// payload_too_large, and the caller asks again for half as many.
import {
  attemptPrefix,
  ID_PREFIX,
  MAX_FRAME_BYTES,
  MIN_PART_BYTES,
  newId,
  type PresignRequestMessage,
  type PresignResponseMessage,
} from "../../../packages/protocol/src/index.ts";
import type { Logger } from "../runtime/log.ts";
import type { SessionHub } from "../session/session_hub.ts";
import { deferred, raceWith } from "../runtime/timers.ts";

/** Most files one presign.request may name (the protocol's limit). */
const MAX_FILES_PER_REQUEST = 1000;
/** What a batch's estimated response may take: well under the frame limit, since URLs are estimated. */
export const PRESIGN_RESPONSE_BUDGET_BYTES = Math.floor(MAX_FRAME_BYTES * 0.6);
/** Allowance per URL beyond its encoded key (scheme, host, bucket, query with signature) and for its signed headers. */
const URL_ALLOWANCE_BYTES = 320;
const HEADERS_ALLOWANCE_BYTES = 256;
const ENTRY_PUNCTUATION_BYTES = 64;

const encoder = new TextEncoder();
const jsonBytes = (s: string) => encoder.encode(JSON.stringify(s)).length;

/**
 * Bytes one file's entry in a presign.response is expected to take at most: its path and
 * key as JSON, and a URL holding the percent-encoded key (encodeURIComponent encodes more
 * than the store does, so this errs on the large side). The key is counted although a
 * compact answer leaves it out: a gateway that predates compact answers sends it.
 */
export function presignEntryBytes(jobId: string, attemptId: string, path: string): number {
  const key = `${attemptPrefix(jobId, attemptId)}${path}`;
  return jsonBytes(path) + jsonBytes(key) + encodeURIComponent(key).length + URL_ALLOWANCE_BYTES + HEADERS_ALLOWANCE_BYTES + ENTRY_PUNCTUATION_BYTES;
}

/**
 * Bytes the entry of a file that may go in parts takes at least: a part, the complete and
 * the abort URL (three signed URLs of the key) and the upload id. The gateway decides the
 * part size, so any file over the smallest part the store allows is counted so; the
 * gateway fills what room is left with more part URLs.
 */
export function multipartEntryBytes(jobId: string, attemptId: string, path: string): number {
  return 3 * presignEntryBytes(jobId, attemptId, path) + MULTIPART_ALLOWANCE_BYTES;
}
const MULTIPART_ALLOWANCE_BYTES = 256;

/** Splits `files` (in order) into presign requests whose responses should each fit within `budget` bytes. */
export function presignBatches<F extends { keyPath: string; size?: number }>(jobId: string, attemptId: string, files: readonly F[], budget = PRESIGN_RESPONSE_BUDGET_BYTES): F[][] {
  const batches: F[][] = [];
  let batch: F[] = [];
  let bytes = 0;
  for (const f of files) {
    const b = (f.size ?? 0) > MIN_PART_BYTES ? multipartEntryBytes(jobId, attemptId, f.keyPath) : presignEntryBytes(jobId, attemptId, f.keyPath);
    if (batch.length > 0 && (bytes + b > budget || batch.length >= MAX_FILES_PER_REQUEST)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(f);
    bytes += b;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

export class PresignError extends Error {
  override name = "PresignError";
}

export class Presigner {
  private readonly waiting = new Map<string, (r: PresignResponseMessage) => void>();

  constructor(
    private readonly hub: SessionHub,
    private readonly log: Logger,
    private readonly timeoutMs: number,
    private readonly maxTries = 3,
  ) {}

  /** Routes a presign.response to the request waiting for it. */
  resolve(msg: PresignResponseMessage): void {
    const waiter = this.waiting.get(msg.request_id);
    if (waiter) waiter(msg);
    else this.log.warn("presign.response for no pending request", { request_id: msg.request_id });
  }

  /** Presigns `files` for an attempt; null if `signal` aborts; PresignError when the gateway never answers. */
  async request(attemptId: string, files: PresignRequestMessage["files"], signal: AbortSignal): Promise<PresignResponseMessage | null> {
    let timeouts = 0;
    while (!signal.aborted) {
      const session = await this.hub.next(signal);
      if (!session) return null;
      const requestId = newId(ID_PREFIX.request);
      const answer = deferred<PresignResponseMessage>();
      this.waiting.set(requestId, answer.resolve);
      try {
        if (!session.send({ type: "presign.request", request_id: requestId, attempt_id: attemptId, files, compact: true, multipart: true })) {
          await raceWith([session.ended], signal, 1_000);
          continue;
        }
        const r = await raceWith<PresignResponseMessage | "ended">([answer.promise, session.ended.then(() => "ended" as const)], signal, this.timeoutMs);
        if (r === "aborted") return null;
        if (r === "ended") {
          this.log.info("connection dropped while waiting for presigned URLs; will ask again", { attempt_id: attemptId });
          continue;
        }
        if (r === "timeout") {
          if (++timeouts >= this.maxTries) throw new PresignError(`gateway sent no presign.response in ${this.maxTries} tries`);
          this.log.warn("no presign.response in time; asking again", { attempt_id: attemptId, request_id: requestId });
          continue;
        }
        return r;
      } finally {
        this.waiting.delete(requestId);
      }
    }
    return null;
  }
}
