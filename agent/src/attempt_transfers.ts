// The file side of an attempt: inputs down before the job, outputs and logs up after it.
// Files never travel on the socket; the socket only carries the presign request/response.
import {
  type AssignMessage,
  type FinishedMessage,
  MAX_FRAME_BYTES,
  type OutputFile,
  outputKey,
  relativePathProblem,
} from "../../packages/protocol/src/index.ts";
import { frameBytes } from "./frame_socket.ts";
import { errorText, type Logger } from "./log.ts";
import type { OsSeam } from "./os/os_seam.ts";
import { listOutputs, type LocalFile } from "./outputs.ts";
import type { Presigner } from "./presigner.ts";
import { resolveInside } from "./safe_paths.ts";
import { downloadFile, type RetryPolicy, uploadFile, withRetries } from "./transfer.ts";
import type { WorkDir } from "./work_dir.ts";

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

const PLACEHOLDER_SHA = "0".repeat(64);

/**
 * Whether attempt.finished can list all `outputs` within MAX_FRAME_BYTES (keys estimated
 * with the protocol's key layout, error message at its longest). If not, the agent uploads
 * only the logs and fails the attempt, rather than sending a report the gateway refuses.
 */
export function outputsFitReport(assign: AssignMessage, outputs: LocalFile[]): boolean {
  if (outputs.length + 2 > 1000) return false; // presign.request takes at most 1000 files
  const probe: FinishedMessage = {
    type: "attempt.finished",
    attempt_id: assign.attempt_id,
    outcome: "succeeded",
    exit_code: 0,
    error: { code: "output_upload_failed", message: "x".repeat(2048) },
    outputs: outputs.map((f) => ({ path: f.rel, key: outputKey(assign.job_id, assign.attempt_id, f.rel), size: f.size, sha256: PLACEHOLDER_SHA })),
  };
  return frameBytes(probe) + 1024 <= MAX_FRAME_BYTES;
}

async function logFile(keyPath: string, local: string): Promise<LocalFile> {
  const size = await Deno.stat(local).then((s) => s.size, () => -1);
  return { keyPath, rel: keyPath, local, size };
}

/** Presigns and uploads outputs/ and the two logs; reports what made it. */
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
  if (!outputsFitReport(assign, outputs)) {
    error = `${outputs.length} output files are too many to report in one frame; pack them into fewer files (e.g. an archive)`;
    log.error("outputs not uploaded: too many files", { files: outputs.length });
    outputs = [];
  }
  const logs = (await Promise.all([logFile("logs/stdout.log", dir.stdoutLog), logFile("logs/stderr.log", dir.stderrLog)])).filter((f) => f.size >= 0);
  const files = [...outputs, ...logs];
  if (files.length === 0) return { outputs: [], error };

  let response;
  try {
    response = await presigner.request(assign.attempt_id, files.map((f) => ({ path: f.keyPath, size: f.size })), signal);
  } catch (e) {
    return { outputs: [], error: `no upload URLs: ${errorText(e)}` };
  }
  if (!response) return { outputs: [], error: "aborted" };
  if (response.error) return { outputs: [], error: `gateway refused upload URLs: ${response.error.code}: ${response.error.message}` };

  const byPath = new Map((response.uploads ?? []).map((u) => [u.path, u]));
  const reported: OutputFile[] = [];
  for (const f of files) {
    const target = byPath.get(f.keyPath);
    if (!target || target.method !== "PUT" || relativePathProblem(target.key)) {
      error ??= `gateway gave no usable upload URL for ${f.keyPath}`;
      continue;
    }
    try {
      const sha256 = await withRetries(
        policy,
        signal,
        () => uploadFile(target.url, target.headers ?? {}, f.local, f.size, policy, signal),
        (e, n) => log.warn("upload failed, retrying", { path: f.keyPath, try: n, error: errorText(e) }),
      );
      log.info("uploaded", { path: f.keyPath, size: f.size, url: target.url });
      if (f.keyPath.startsWith("outputs/")) reported.push({ path: f.rel, key: target.key, size: f.size, sha256 });
    } catch (e) {
      if (signal.aborted) return { outputs: reported, error: "aborted" };
      log.error("upload failed", { path: f.keyPath, error: errorText(e) });
      error ??= `upload of ${f.keyPath} failed: ${errorText(e)}`;
    }
  }
  return { outputs: reported, error };
}
