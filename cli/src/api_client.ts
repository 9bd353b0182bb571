// The API as `lb` calls it: JSON in and out, the token in the Authorization header, the
// structured error of API.md turned into a CliError with its request id and an exit code.
// Requests that the server could not take for a moment (503, 429, a dropped connection) are
// retried with the same body and Idempotency-Key, so a retry never makes a second job.
import { randomUUID } from "node:crypto";
import { CliError, EXIT, type ExitCode } from "./exit_codes.ts";

/** One API answer. */
export interface ApiAnswer<T> {
  status: number;
  body: T;
  requestId: string | null;
}

/** Options of one call. */
export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Tries when the server is away or busy; 1 = no retry. */
  tries?: number;
  /** Accept these statuses as answers instead of errors. */
  accept?: number[];
}

/** Calls the API of `server` with `token`. */
export class ApiClient {
  constructor(
    readonly server: string,
    private readonly token: string,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Sends one request and returns its parsed JSON answer; throws CliError on an error answer. */
  async call<T = any>(method: string, path: string, opts: CallOptions = {}): Promise<ApiAnswer<T>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const tries = opts.tries ?? 3;
    // One request id for every try: the server's logs tie the retries together.
    const requestId = `lb-${randomUUID()}`;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetch(method, path, { ...opts, headers: { "x-request-id": requestId, ...opts.headers } });
      } catch (err) {
        if (attempt < tries) {
          await this.sleep(backoffMs(attempt));
          continue;
        }
        throw new CliError(`Cannot reach "${this.server}": ${causeOf(err)}`, EXIT.unavailable);
      }
      if ((res.status === 503 || res.status === 429) && attempt < tries) {
        await res.body?.cancel();
        const retryAfter = Number(res.headers.get("retry-after"));
        await this.sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 10) * 1000 : backoffMs(attempt));
        continue;
      }
      return this.answer<T>(res, method, path, opts.accept ?? []);
    }
  }

  /** Opens a streaming GET (Server-Sent Events) and returns the response once its headers are in. */
  async stream(path: string, signal?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetch("GET", path, { headers: { accept: "text/event-stream" } }, signal);
    } catch (err) {
      throw new CliError(`Cannot reach "${this.server}": ${causeOf(err)}`, EXIT.unavailable);
    }
    if (!res.ok) await this.answer(res, "GET", path, []);
    return res;
  }

  private fetch(method: string, path: string, opts: CallOptions, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...opts.headers };
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    return fetch(`${this.server}${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal,
    });
  }

  private async answer<T>(res: Response, method: string, path: string, accept: number[]): Promise<ApiAnswer<T>> {
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    const error = (body as { error?: { code?: string; message?: string; request_id?: string } } | null)?.error;
    const requestId = error?.request_id ?? res.headers.get("x-request-id");
    if (res.ok || accept.includes(res.status)) return { status: res.status, body: body as T, requestId };
    const message = error?.message ?? `${method} ${path} answered HTTP ${res.status}`;
    throw new CliError(message, exitCodeOf(res.status), { code: error?.code, status: res.status, requestId });
  }
}

function exitCodeOf(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 503) return EXIT.unavailable;
  return EXIT.api;
}

function backoffMs(attempt: number): number {
  // Jittered, so a lab's worth of retrying clients do not come back in step.
  return Math.min(200 * 2 ** attempt, 5000) * (0.5 + Math.random() / 2);
}

/** The innermost message of a fetch failure (undici hides ECONNREFUSED in `cause`). */
export function causeOf(err: unknown): string {
  let e = err as { message?: string; cause?: unknown; code?: string };
  while (e?.cause) e = e.cause as typeof e;
  return e?.code ?? e?.message ?? String(err);
}
