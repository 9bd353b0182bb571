// Follows a log file another process writes, for progress: on Windows a job started with
// spawnAsUser writes logs/stdout.log itself (its std handles are the file), so there is no
// pipe for the agent to tap, and the agent reads the file as it grows instead. Works on
// any OS. Feed the bytes to a LineTracker to get attempt.progress lines.
import { sleep } from "../runtime/timers.ts";

export interface TailOptions {
  path: string;
  /** How often to look for new bytes once the end of the file was reached. */
  intervalMs: number;
  /** Receives the bytes in file order, each byte once. */
  onBytes: (chunk: Uint8Array) => void;
  chunkSize?: number;
}

/**
 * Reads `path` from the start and then whatever is appended, until `signal` aborts; then
 * reads to the end once more, so the job's last line is not lost, and resolves. A file that
 * does not exist yet is waited for; a file cut shorter than what was read (rewritten) is
 * read again from its start.
 */
export async function tailLog(opts: TailOptions, signal: AbortSignal): Promise<void> {
  const buf = new Uint8Array(opts.chunkSize ?? 64 * 1024);
  let file: Deno.FsFile | null = null;
  let position = 0;
  try {
    while (true) {
      const stopping = signal.aborted; // decided before the read, so the last pass sees everything written before the abort
      file ??= await openIfExists(opts.path);
      if (file) {
        if ((await file.stat()).size < position) {
          position = 0;
          await file.seek(0, Deno.SeekMode.Start);
        }
        while (true) {
          const n = await file.read(buf);
          if (n === null || n === 0) break;
          position += n;
          opts.onBytes(buf.slice(0, n));
        }
      }
      if (stopping) return;
      await sleep(opts.intervalMs, signal);
    }
  } finally {
    file?.close();
  }
}

async function openIfExists(path: string): Promise<Deno.FsFile | null> {
  try {
    return await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
