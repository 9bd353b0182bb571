// The agent's own log, kept in its state folder as well as on stdout: a service wrapper
// (WinSW, systemd) collects stdout, but an admin at the lab machine reads the file with
// `labbridge-agent logs [-f]`. The file rotates by size: agent.log → agent.log.1 → … →
// agent.log.<keep>, the oldest dropped, so the log never fills the disk. Lines reach it
// already redacted (log.ts), and the folder is the state folder's (owner-only).
import { join } from "node:path";
import type { LogSink } from "./log.ts";

/** How big the log grows before it rotates, and how many old files stay (at least one). */
export interface LogFileLimits {
  maxBytes: number;
  keep: number;
}

/** 10 MB a file, five old files: weeks of an agent's lines, 60 MB at most. */
export const DEFAULT_LOG_FILE_LIMITS: LogFileLimits = { maxBytes: 10 * 1024 * 1024, keep: 5 };

/** The folder of the agent's own log inside its state folder. */
export function logDir(stateDir: string): string {
  return join(stateDir, "logs");
}

/** The current log file; rotated ones are this path with .1, .2, … appended (.1 the newest). */
export function logFilePath(stateDir: string): string {
  return join(logDir(stateDir), "agent.log");
}

const encoder = new TextEncoder();

/** Appends lines to `path`, rotating it past `limits.maxBytes`. Writes are synchronous, so lines keep their order and survive a crash right after. */
export class RotatingLogFile {
  private file: Deno.FsFile | null = null;
  private size = 0;

  constructor(readonly path: string, private readonly limits: LogFileLimits = DEFAULT_LOG_FILE_LIMITS) {}

  /** Opens (or creates) the file for appending; throws when it cannot, so a bad state folder shows at start. */
  open(): void {
    Deno.mkdirSync(join(this.path, ".."), { recursive: true, mode: 0o700 });
    this.file = Deno.openSync(this.path, { append: true, create: true, mode: 0o600 });
    this.size = this.file.statSync().size;
  }

  /** The sink for createLogger: one line, rotating first when it would not fit. Never throws. */
  readonly sink: LogSink = (line) => {
    const bytes = encoder.encode(line + "\n");
    try {
      if (!this.file) this.open();
      else if (this.size > 0 && this.size + bytes.length > this.limits.maxBytes) this.rotate();
      let off = 0;
      while (off < bytes.length) off += this.file!.writeSync(bytes.subarray(off));
      this.size += bytes.length;
    } catch {
      // Logging must never stop the agent (a full disk, a folder removed under it); stdout
      // still has the line, and the next line tries the file again.
    }
  };

  /** Closes the file (the agent is stopping). */
  close(): void {
    try {
      this.file?.close();
    } catch {
      // Already closed.
    }
    this.file = null;
  }

  private rotate(): void {
    this.close();
    const { keep } = this.limits;
    try {
      Deno.removeSync(`${this.path}.${keep}`);
    } catch {
      // Not there yet.
    }
    for (let i = keep - 1; i >= 1; i--) renameIfExists(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    renameIfExists(this.path, `${this.path}.1`);
    this.open();
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    Deno.renameSync(from, to);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** A sink that writes each line to every one of `sinks`. */
export function teeSink(...sinks: LogSink[]): LogSink {
  return (line) => {
    for (const s of sinks) s(line);
  };
}
