// One output sent in parts (a multipart upload the gateway started): each part is read
// from disk at its offset and PUT on its own, retried alone with backoff, so a dropped
// uplink costs the part in flight, not the gigabytes before it. Parts the store took are
// remembered (number and ETag) and never sent again, whether the connection to the store
// or to the gateway dropped; the gateway is asked for URLs of the parts still to go, a few
// at a time, and for a fresh complete request at the end (URLs expire, a 20 GB upload can
// outlive them). If the file cannot be sent, the upload is aborted so the store drops its
// parts. Parts go in order, one at a time, so the file's sha256 is computed as it is sent.
//
// Kept in memory only: an agent restarted mid-upload starts the file over (a new upload).
import { createHash } from "node:crypto";
import { completeUploadXml, COMPLETE_CONTENT_TYPE, type MultipartUploadUrls, partCount, partRange } from "../../../packages/protocol/src/index.ts";
import { errorText, type Logger } from "../runtime/log.ts";
import { type RetryPolicy, TransferError, withRetries } from "./transfer.ts";
import { sendRequest, uploadRange } from "./upload_requests.ts";

/** Asks the gateway to go on with upload `uploadId`: URLs for `parts` (maybe none) and fresh complete/abort requests. */
export type AskParts = (uploadId: string, parts: number[]) => Promise<MultipartUploadUrls>;

/** Part URLs asked for at once when the agent runs out. */
const PARTS_PER_ASK = 16;

/** The sha256 of a file sent in order, where a retried range repeats bytes already hashed. */
export class InOrderHash {
  private readonly hash = createHash("sha256");
  /** Bytes hashed so far: [0, at). */
  at = 0;

  /** Hashes what of `bytes` (at `offset` in the file) lies past what was hashed already. */
  feed(offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.length;
    if (end <= this.at) return;
    if (offset > this.at) throw new TransferError(`bytes from ${offset} arrived before bytes from ${this.at}`);
    this.hash.update(bytes.subarray(this.at - offset));
    this.at = end;
  }

  digest(): string {
    return this.hash.digest("hex");
  }
}

/** A file to send in parts. */
export interface PartsFile {
  keyPath: string;
  local: string;
  size: number;
}

/** Uploads `file` in parts under `first` (the gateway's plan) and completes it; resolves with the file's sha256. */
export async function uploadInParts(
  file: PartsFile,
  first: MultipartUploadUrls,
  headers: Record<string, string>,
  ask: AskParts,
  policy: RetryPolicy,
  log: Logger,
  signal: AbortSignal,
): Promise<string> {
  const uploadId = first.upload_id;
  const count = partCount(file.size, first.part_size);
  const urls = new Map(first.parts.map((p) => [p.number, p.url]));
  let latest = first;
  const held = new Map<number, string>();
  const hash = new InOrderHash();
  const refresh = async (wanted: number[]) => {
    latest = await ask(uploadId, wanted);
    for (const p of latest.parts) urls.set(p.number, p.url);
  };
  const ctx = { path: file.keyPath, upload_id: uploadId };
  try {
    for (let n = 1; n <= count; n++) {
      if (held.has(n)) continue;
      const range = partRange(n, first.part_size, file.size);
      const etag = await withRetries(
        policy,
        signal,
        async (attempt) => {
          // A retry gets a fresh URL too: the failure may have been its expiry.
          if (!urls.has(n) || attempt > 1) {
            const next = Array.from({ length: Math.min(PARTS_PER_ASK, count - n + 1) }, (_, i) => n + i).filter((p) => !held.has(p));
            await refresh(attempt > 1 ? [n] : next);
          }
          const url = urls.get(n);
          if (!url) throw new TransferError(`gateway gave no URL for part ${n}`);
          urls.delete(n); // used; a part URL is for one part only
          return uploadRange(url, headers, file.local, range, policy, signal, (offset, bytes) => hash.feed(offset, bytes));
        },
        (e, attempt) => log.warn("part upload failed, retrying", { ...ctx, part: n, try: attempt, error: errorText(e) }),
      );
      if (!etag) throw new TransferError(`store sent no ETag for part ${n}`);
      held.set(n, etag);
    }
    if (hash.at !== file.size) throw new TransferError(`sent ${hash.at} of ${file.size} bytes`);
    const sha256 = hash.digest();
    const body = new TextEncoder().encode(completeUploadXml([...held].map(([number, etag]) => ({ number, etag }))));
    await withRetries(
      policy,
      signal,
      async () => {
        await refresh([]); // the first plan's complete URL may have expired while the parts went up
        const text = await sendRequest(latest.complete.method, latest.complete.url, { "Content-Type": COMPLETE_CONTENT_TYPE, ...latest.complete.headers }, body, policy, signal);
        // S3-like stores may answer 200 and put the error in the body.
        if (/<Error>/.test(text)) throw new TransferError(`completing the upload failed: ${text.slice(0, 200)}`);
      },
      (e, attempt) => log.warn("completing multipart upload failed, retrying", { ...ctx, try: attempt, error: errorText(e) }),
    );
    log.info("multipart upload completed", { ...ctx, parts: count, size: file.size });
    return sha256;
  } catch (e) {
    await abortUpload(latest, policy, log, ctx);
    throw e;
  }
}

/** Best effort: tells the store to drop the parts of an upload given up (the store's lifecycle rule is the backstop). */
async function abortUpload(latest: MultipartUploadUrls, policy: RetryPolicy, log: Logger, ctx: Record<string, unknown>): Promise<void> {
  try {
    // Its own short signal: the attempt's may be what aborted, and the parts should go anyway.
    await sendRequest(latest.abort.method, latest.abort.url, latest.abort.headers, new Uint8Array(), policy, AbortSignal.timeout(policy.idleTimeoutMs));
    log.info("multipart upload aborted", ctx);
  } catch (e) {
    log.warn("multipart upload not aborted", { ...ctx, error: errorText(e) });
  }
}
