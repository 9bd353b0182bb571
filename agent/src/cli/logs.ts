// `labbridge-agent logs --state-dir <dir> [--lines N] [-f]`: prints the last N lines of the
// agent's own log (runtime/log_file.ts), reaching into rotated files when the current one
// is shorter, and with -f keeps printing what is appended, across rotations: when
// agent.log is renamed away, the rest of the old file is read first, then the new one from
// its start. Exit 0; 1 when there is no log yet (without -f, which waits for one).
import { logFilePath } from "../runtime/log_file.ts";
import { sleep } from "../runtime/timers.ts";

export interface LogsOptions {
  stateDir: string;
  lines: number;
  follow: boolean;
  /** Receives the bytes to print, in order. */
  write: (chunk: Uint8Array) => void;
  /** How often a followed log is looked at again. */
  intervalMs?: number;
  /** Ends -f (Ctrl-C in main; the test's stop). */
  signal?: AbortSignal;
  /** Where "no log yet" is said. */
  warn?: (message: string) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function openIfExists(path: string): Deno.FsFile | null {
  try {
    return Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function readRest(file: Deno.FsFile): Uint8Array {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  let total = 0;
  for (let n = file.readSync(buf); n !== null && n > 0; n = file.readSync(buf)) {
    parts.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) out.set(p, (off += p.length) - p.length);
  return out;
}

function readFileIfExists(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** The last `n` complete lines of `text` and of the files rotated before it, oldest first. */
function lastLines(path: string, current: string, n: number): string[] {
  const lines: string[] = [];
  let text: string | null = current;
  for (let i = 1; text !== null && lines.length < n; i++) {
    const own = text.split("\n");
    if (own.at(-1) === "") own.pop();
    lines.unshift(...own.slice(-(n - lines.length)));
    text = readFileIfExists(`${path}.${i}`);
  }
  return n === 0 ? [] : lines;
}

/** What tells two files apart: Deno.FileInfo's fields that matter here. */
export type FileIdentity = Pick<Deno.FileInfo, "ino" | "birthtime" | "size">;

/**
 * Whether the file now at the path (`atPath`) is another than the one open (`open`), of
 * which `position` bytes were read. The inode where the OS gives one (Linux). Elsewhere
 * (Windows) a different creation time, or a file shorter than what was read: Windows'
 * file-name tunneling can hand a file made right after a rename the old one's creation
 * time, and a fresh log starts small.
 */
export function rotatedAway(atPath: FileIdentity, open: FileIdentity, position: number): boolean {
  if (atPath.ino !== null && open.ino !== null) return atPath.ino !== open.ino;
  const born = atPath.birthtime && open.birthtime && atPath.birthtime.getTime() !== open.birthtime.getTime();
  return Boolean(born) || atPath.size < position;
}

function replaced(path: string, file: Deno.FsFile, position: number): boolean {
  try {
    return rotatedAway(Deno.statSync(path), file.statSync(), position);
  } catch {
    return false; // between the rename and the new file: look again next time
  }
}

export async function logsCommand(opts: LogsOptions): Promise<number> {
  const path = logFilePath(opts.stateDir);
  const signal = opts.signal ?? new AbortController().signal;
  const interval = opts.intervalMs ?? 250;
  let file = openIfExists(path);
  if (!file && !opts.follow) {
    opts.warn?.(`No agent log at "${path}" yet: the agent writes it once \`run\` starts`);
    return 1;
  }
  let position = 0;
  if (file) {
    const head = readRest(file);
    position = head.length;
    const text = decoder.decode(head);
    // A line still being written at the end waits for the follow; without -f it is printed as it is.
    const cut = opts.follow ? text.lastIndexOf("\n") + 1 : text.length;
    const lines = lastLines(path, text.slice(0, cut), opts.lines);
    if (lines.length > 0) opts.write(encoder.encode(lines.join("\n") + "\n"));
    if (opts.follow && cut < text.length) opts.write(encoder.encode(text.slice(cut)));
  }
  if (!opts.follow) {
    file?.close();
    return 0;
  }
  try {
    while (!signal.aborted) {
      if (file) {
        const more = readRest(file);
        position += more.length;
        if (more.length > 0) opts.write(more);
        if (replaced(path, file, position)) {
          // Every write to the old file came before its rename, which came before the stat:
          // one more read takes the last of them, then the new file is read from its start.
          const last = readRest(file);
          if (last.length > 0) opts.write(last);
          file.close();
          file = null;
          position = 0;
        }
      }
      file ??= openIfExists(path);
      if (file && position === 0) {
        const first = readRest(file);
        position = first.length;
        if (first.length > 0) opts.write(first);
      }
      await sleep(interval, signal);
    }
  } finally {
    file?.close();
  }
  return 0;
}
