// The file side of an attempt: inputs down before the job, outputs and logs up after it.
// Files never travel on the socket; the socket only carries the presign requests/responses.
import {
  type AssignMessage,
  attemptPrefix,
  MAX_OUTPUTS_PER_ATTEMPT,
  type MultipartUploadUrls,
  type OutputFile,
  type PresignResponseMessage,
  relativePathProblem,
} from "../../../packages/protocol/src/index.ts";
import { errorText, type Logger } from "../runtime/log.ts";
import type { OsSeam } from "../os/os_seam.ts";
import { listOutputs, type LocalFile } from "./outputs.ts";
import { presignBatches, type Presigner } from "./presigner.ts";
import { resolveInside } from "../attempt/safe_paths.ts";
import { downloadFile, type RetryPolicy, TransferError, withRetries } from "./transfer.ts";
import { uploadFile } from "./upload_requests.ts";
import { type AskParts, uploadInParts } from "./multipart_upload.ts";
import type { WorkDir } from "../attempt/work_dir.ts";

/** Downloads every input to inputs/<path>; throws on the first that cannot be fetched and checked. */
export async function downloadInputs(assign: AssignMessage, dir: WorkDir, os: OsSeam, policy: RetryPolicy, log: Logger, signal: AbortSignal): Promise<void> {
  for (const input of assign.inputs ?? []) {
    const dest = resolveInside(dir.inputs, input.path, os);
    const got = await withRetries(
      policy,
      signal,
      () => downloadFile(input.url, dest, { size: input.size, sha256: input.sha256 }, policy, signal),
      (e, n) => log.warn("input download failed, retrying", { path: input.path, try: n, error: errorText(e) }),
    );
    log.info("input downloaded", { path: input.path, size: got.size, url: input.url });
  }
}

export interface UploadResult {
  outputs: OutputFile[];
  /** Why not everything was uploaded, or null. */
  error: string | null;
}

/** Uploads running at once: enough to hide per-request latency on a lab uplink, few enough not to starve a job's checkpoint upload. */
const UPLOAD_CONCURRENCY = 4;
const VERBOSE_FILES = 100;
/**
 * Files in a row that failed every try before the rest are given up: a store that refuses
 * everything would otherwise cost each of thousands of files its full retry schedule
 * (hours) before the attempt could report.
 */
const MAX_FAILURES_IN_A_ROW = 8;

/** Upload failures in a row across batches, shared by the workers. */
interface FailureRun {
  inARow: number;
}

async function logFile(keyPath: string, local: string): Promise<LocalFile> {
  const size = await Deno.stat(local).then((s) => s.size, () => -1);
  return { keyPath, rel: keyPath, local, size };
}

/** A presigned upload with the fields a compact answer leaves out filled in. */
type Upload = { path: string; key: string; url: string | null; method: string; headers: Record<string, string>; multipart: MultipartUploadUrls | null };

/**
 * Presigns and uploads outputs/ and the two logs, in batches whose presign.response fits a
 * frame; reports what made it. Any number of outputs (up to the protocol's limit per attempt).
 */
export async function uploadResults(
  assign: AssignMessage,
  dir: WorkDir,
  presigner: Presigner,
  policy: RetryPolicy,
  log: Logger,
  signal: AbortSignal,
): Promise<UploadResult> {
  let error: string | null = null;
  let outputs = await listOutputs(dir.outputs, log);
  if (outputs.length > MAX_OUTPUTS_PER_ATTEMPT) {
    error = `${outputs.length} output files are more than the ${MAX_OUTPUTS_PER_ATTEMPT} one attempt may report; pack them into fewer files (e.g. an archive)`;
    log.error("outputs not uploaded: too many files", { files: outputs.length });
    outputs = [];
  }
  const logs = (await Promise.all([logFile("logs/stdout.log", dir.stdoutLog), logFile("logs/stderr.log", dir.stderrLog)])).filter((f) => f.size >= 0);
  const reported: OutputFile[] = [];
  // Logs first: when a later batch fails (lease lost, store down), the logs that explain the run are already up.
  const queue = presignBatches(assign.job_id, assign.attempt_id, [...logs, ...outputs]);
  if (queue.length > 1) log.info("uploading in batches", { files: outputs.length + logs.length, batches: queue.length });
  // One line per file for a few files; one per batch for thousands (a log line per checkpoint shard helps nobody).
  const verbose = outputs.length + logs.length <= VERBOSE_FILES;
  const failures: FailureRun = { inARow: 0 };
  // The next batch's URLs are asked for while this batch uploads, so a lab far from the
  // gateway does not pay one round trip per batch; at most one request runs ahead.
  const ahead = new AbortController();
  const both = AbortSignal.any([signal, ahead.signal]);
  type Asked = { batch: LocalFile[]; answer: Promise<{ response: PresignResponseMessage | null } | { failed: unknown }> };
  const ask = (batch: LocalFile[] | undefined): Asked | null =>
    batch
      ? {
        batch,
        answer: presigner.request(assign.attempt_id, batch.map((f) => ({ path: f.keyPath, size: f.size })), both)
          .then((response) => ({ response }), (failed: unknown) => ({ failed })),
      }
      : null;
  const done = (result: UploadResult): UploadResult => {
    ahead.abort(); // a request still running ahead is not needed any more
    return { ...result, outputs: sortedByPath(result.outputs) };
  };

  let next = ask(queue.shift());
  while (next) {
    if (failures.inARow >= MAX_FAILURES_IN_A_ROW) {
      log.error("uploads given up: the store refused too many files in a row", { batches_left: queue.length + 1 });
      return done({ outputs: reported, error: `${error ?? "uploads failed"}; gave up after ${MAX_FAILURES_IN_A_ROW} files in a row failed` });
    }
    const { batch } = next;
    const got = await next.answer;
    next = null;
    if ("failed" in got) return done({ outputs: reported, error: `no upload URLs: ${errorText(got.failed)}` });
    const response = got.response;
    if (!response || signal.aborted) return done({ outputs: reported, error: "aborted" });
    if (response.error?.code === "payload_too_large" && batch.length > 1) {
      // Our estimate was short (a long endpoint, big headers): ask for half as many at a time.
      const half = Math.ceil(batch.length / 2);
      log.info("presign answer too large; asking for fewer files at a time", { files: batch.length });
      queue.unshift(batch.slice(0, half), batch.slice(half));
      next = ask(queue.shift());
      continue;
    }
    if (response.error) return done({ outputs: reported, error: `gateway refused upload URLs: ${response.error.code}: ${response.error.message}` });
    next = ask(queue.shift());
    const prefix = attemptPrefix(assign.job_id, assign.attempt_id);
    const byPath = new Map((response.uploads ?? []).map((u): [string, Upload] => [
      u.path,
      { path: u.path, key: u.key ?? prefix + u.path, url: u.url ?? null, method: u.method ?? "PUT", headers: u.headers ?? {}, multipart: u.multipart ?? null },
    ]));
    const askParts = (f: LocalFile): AskParts => async (uploadId, parts) => {
      const r = await presigner.request(assign.attempt_id, [{ path: f.keyPath, size: f.size, upload_id: uploadId, parts }], signal);
      if (!r) throw new TransferError("upload aborted");
      if (r.error) throw new TransferError(`gateway refused part URLs: ${r.error.code}: ${r.error.message}`);
      const plan = r.uploads.find((u) => u.path === f.keyPath)?.multipart;
      if (!plan || plan.upload_id !== uploadId) throw new TransferError(`gateway sent no part URLs for ${f.keyPath}`);
      return plan;
    };
    const failure = await uploadBatch(batch, byPath, reported, failures, policy, log, verbose, signal, askParts);
    if (signal.aborted) return done({ outputs: reported, error: "aborted" });
    if (!verbose) log.info("batch uploaded", { files: batch.length, outputs_done: reported.length, outputs: outputs.length, failed: failure !== null });
    error ??= failure;
  }
  return done({ outputs: reported, error });
}

const sortedByPath = (list: OutputFile[]) => list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

/** PUTs one presigned batch, a few files at a time; adds each uploaded output to `reported`; the first failure, or null. */
async function uploadBatch(
  batch: LocalFile[],
  byPath: Map<string, Upload>,
  reported: OutputFile[],
  failures: FailureRun,
  policy: RetryPolicy,
  log: Logger,
  verbose: boolean,
  signal: AbortSignal,
  askParts: (f: LocalFile) => AskParts,
): Promise<string | null> {
  let error: string | null = null;
  let next = 0;
  const worker = async () => {
    while (next < batch.length && !signal.aborted && failures.inARow < MAX_FAILURES_IN_A_ROW) {
      const f = batch[next++]!;
      const target = byPath.get(f.keyPath);
      if (!target || target.method !== "PUT" || relativePathProblem(target.key) || (target.url === null && target.multipart === null)) {
        error ??= `gateway gave no usable upload URL for ${f.keyPath}`;
        continue;
      }
      try {
        // In parts: each part is retried on its own, so the whole file is not retried on top.
        const sha256 = target.multipart
          ? await uploadInParts(f, target.multipart, target.headers, askParts(f), policy, log, signal)
          : await withRetries(
            policy,
            signal,
            () => uploadFile(target.url!, target.headers, f.local, f.size, policy, signal),
            (e, n) => log.warn("upload failed, retrying", { path: f.keyPath, try: n, error: errorText(e) }),
          );
        failures.inARow = 0;
        if (verbose) log.info("uploaded", { path: f.keyPath, size: f.size, ...(target.url ? { url: target.url } : { parts: true }) });
        if (f.keyPath.startsWith("outputs/")) reported.push({ path: f.rel, key: target.key, size: f.size, sha256 });
      } catch (e) {
        if (signal.aborted) return;
        failures.inARow++;
        log.error("upload failed", { path: f.keyPath, error: errorText(e) });
        error ??= `upload of ${f.keyPath} failed: ${errorText(e)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, batch.length) }, worker));
  return error;
}
