// JSON-lines logging to stdout. Lab machines run the agent as a service whose output is
// collected by a wrapper (WinSW, systemd), so each line is one self-contained JSON object.
// Secrets never reach a log: presigned URLs lose their query string (the signature lives
// there), and callers never pass the credential or the enrollment token; should one slip
// through anyway, a field named like a secret and a "Bearer …" in text are blanked. The
// same lines go to the log file in the state folder (log_file.ts).

export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line (agent_id, attempt_id, job_id...). */
  child(fields: Fields): Logger;
}

/** Where finished lines go; tests pass a collector, the CLI writes to stdout. */
export type LogSink = (line: string) => void;

const encoder = new TextEncoder();

/**
 * Writes one line to stdout, looping because writeSync may write a pipe partially. A line
 * that cannot be written (the terminal closed: EIO; the reader died: EPIPE) is dropped: a
 * log call must never throw, least of all in the stop that follows a closed terminal.
 */
export function stdoutSink(line: string): void {
  const bytes = encoder.encode(line + "\n");
  let off = 0;
  try {
    while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
  } catch {
    // Nowhere left to say it.
  }
}

/** Strips a URL's userinfo, query string and fragment: presigned signatures live there. */
export function redactUrl(url: string): string {
  const cut = url.search(/[?#]/);
  const base = cut === -1 ? url : url.slice(0, cut);
  return base.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}

/** Redacts every URL inside free text (an error message that echoes the request URL), and any bearer token. */
export function redactText(text: string): string {
  return text
    .replace(/\b(?:https?|wss?):\/\/[^\s"'<>)]+/gi, (u) => redactUrl(u))
    .replace(/\b(Bearer\s+)[^\s"',;]+/gi, "$1[redacted]");
}

/** Field names whose values are blanked whatever they hold. */
const SECRET_FIELD = /^(?:credential|token|enrollment_token|authorization|password|secret)$/i;

function clean(value: unknown): unknown {
  if (typeof value === "string") return redactText(value);
  if (value instanceof Error) return redactText(value.message);
  if (Array.isArray(value)) return value.map(clean);
  if (value && typeof value === "object") {
    const out: Fields = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) && v !== null && v !== undefined ? "[redacted]" : clean(v);
    return out;
  }
  return value;
}

/** Makes a logger; `now` is injectable so tests can pin the time. */
export function createLogger(sink: LogSink = stdoutSink, base: Fields = {}, now: () => Date = () => new Date()): Logger {
  const write = (level: Level, msg: string, fields: Fields = {}) => {
    const line = { level, time: now().toISOString(), msg: redactText(msg), ...(clean({ ...base, ...fields }) as Fields) };
    sink(JSON.stringify(line));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger(sink, { ...base, ...fields }, now),
  };
}

/** A logger that drops everything (for tests that do not look at logs). */
export const silentLogger: Logger = createLogger(() => {});

/** One-line text of any thrown value, for logs and error reports. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return redactText(e.message || e.name);
  return redactText(String(e));
}
