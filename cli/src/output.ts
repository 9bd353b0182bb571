// How `lb` talks to people and to scripts: `--json` puts one JSON document on stdout (and an
// error document on failure); without it, short lines for people. Progress and notes always
// go to stderr, so stdout stays what a script pipes.
import { CliError } from "./exit_codes.ts";

/** Where one command writes. */
export interface Output {
  json: boolean;
  /** Progress bars only when a person watches stderr and asked for no JSON. */
  bars: boolean;
  /** Writes the command's result: `value` as JSON with --json, else `text()` for people. */
  result(value: unknown, text: () => string): void;
  /** A note for people on stderr (not shown with --json unless it is a warning). */
  note(line: string): void;
}

/** The output for one run of `lb`. */
export function createOutput(json: boolean): Output {
  return {
    json,
    bars: !json && Boolean(process.stderr.isTTY) && !process.env.CI,
    result(value, text) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : ensureNewline(text()));
    },
    note(line) {
      if (!json) process.stderr.write(ensureNewline(line));
    },
  };
}

/** Reports `err` the way API.md asks: the message, and the request id to quote in a bug report. */
export function reportError(err: CliError, json: boolean): void {
  const { code, status, requestId } = err.details;
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: { message: err.message, code: code ?? null, status: status ?? null, request_id: requestId ?? null, exit_code: err.exitCode } }, null, 2)}\n`);
  }
  const extra = [code, requestId ? `request id ${requestId}` : null].filter(Boolean).join(", ");
  process.stderr.write(`lb: ${err.message}${extra ? ` (${extra})` : ""}\n`);
}

function ensureNewline(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}

/** A table of `rows` under `headers`, columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(headers), ...rows.map(line)].join("\n");
}
