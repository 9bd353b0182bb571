// A pino logger whose lines a test can read back, to count what a gateway logged.
import { pino } from "pino";
import type { Logger } from "@labbridge/logging";

/** One parsed log line. */
export type LogLine = { level: string; msg: string } & Record<string, unknown>;

/** A logger at `info` and the lines it wrote so far. */
export class CapturedLog {
  readonly lines: LogLine[] = [];
  bytes = 0;
  readonly logger: Logger = pino(
    { level: "info", formatters: { level: (label) => ({ level: label }) } },
    { write: (line: string) => { this.bytes += Buffer.byteLength(line); this.lines.push(JSON.parse(line) as LogLine); } },
  );

  /** Lines whose message is `msg`. */
  withMsg(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }

  /** Forgets the lines so far. */
  clear(): void {
    this.lines.length = 0;
    this.bytes = 0;
  }
}
