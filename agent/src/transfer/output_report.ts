// The final report of an attempt as frames that each fit in MAX_FRAME_BYTES: the outputs in
// `attempt.outputs` chunks, then `attempt.finished` with their count and digest. A few
// outputs that fit travel inline in attempt.finished instead (no extra round trip, and a
// gateway that predates chunks still takes them); the count and digest go along either way.
import {
  type FinishedMessage,
  MAX_FRAME_BYTES,
  type ChunkOutput,
  type OutputFile,
  outputKey,
  outputsDigest,
  type OutputsMessage,
} from "../../../packages/protocol/src/index.ts";
import { frameBytes } from "../session/frame_socket.ts";

/** What the outbox delivers for one attempt: chunks (each acked) first, then the final frame. */
export interface Report {
  chunks: OutputsMessage[];
  finished: FinishedMessage;
}

/** Bytes a chunk may take: room to spare under the frame limit. */
export const CHUNK_BUDGET_BYTES = Math.floor(MAX_FRAME_BYTES * 0.75);

const encoder = new TextEncoder();

/**
 * Splits outputs into attempt.outputs frames of at most `budget` bytes each, numbered from 0.
 * A key that is the one its path gives is left out (the gateway derives it).
 */
export function outputChunks(jobId: string, attemptId: string, outputs: readonly OutputFile[], budget = CHUNK_BUDGET_BYTES): OutputsMessage[] {
  const envelope = frameBytes({ type: "attempt.outputs", attempt_id: attemptId, seq: 999_999, outputs: [] });
  const chunks: OutputsMessage[] = [];
  let current: ChunkOutput[] = [];
  let bytes = envelope;
  for (const full of outputs) {
    const o: ChunkOutput = full.key === outputKey(jobId, attemptId, full.path) ? { path: full.path, size: full.size, sha256: full.sha256 } : full;
    const b = encoder.encode(JSON.stringify(o)).length + 1; // and its comma
    if (current.length > 0 && bytes + b > budget) {
      chunks.push({ type: "attempt.outputs", attempt_id: attemptId, seq: chunks.length, outputs: current });
      current = [];
      bytes = envelope;
    }
    current.push(o);
    bytes += b;
  }
  if (current.length > 0) chunks.push({ type: "attempt.outputs", attempt_id: attemptId, seq: chunks.length, outputs: current });
  return chunks;
}

/** Turns a finished message listing every output of a job's attempt into the frames that report it. */
export async function buildReport(jobId: string, full: FinishedMessage): Promise<Report> {
  const all = full.outputs;
  const counted: FinishedMessage = { ...full, output_count: all.length, outputs_digest: await outputsDigest(all) };
  if (frameBytes(counted) <= CHUNK_BUDGET_BYTES) return { chunks: [], finished: counted };
  return { chunks: outputChunks(jobId, full.attempt_id, all), finished: { ...counted, outputs: [] } };
}
