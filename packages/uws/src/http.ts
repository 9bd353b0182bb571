// A small async request layer over uWebSockets.js HTTP: uWS hands out a request object
// that is only valid until the handler returns, so everything is copied out first, the
// body is streamed in with a limit, and the response is written corked, if still wanted.
import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import type { Counter } from "@labbridge/metrics";

/** What is known of a request before its body: copied out of uWS at once. */
export interface RequestHead {
  method: string;
  /** The path as sent, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  /** The peer's IP address as text (the socket's, not a forwarded header's). */
  remoteAddress: string;
}

/** A request with everything copied out of uWS. */
export interface Request extends RequestHead {
  body: Buffer;
}

/** A long-lived response body (Server-Sent Events): small chunks written as they come. */
export interface EventStream {
  /** Writes a chunk; ignored once the stream closed. */
  send(chunk: string): void;
  /** Ends the response. */
  end(): void;
  /** Runs `fn` once when the stream closes, by `end()` or because the client went away. */
  onClose(fn: () => void): void;
}

/** A response to write: JSON by default, raw text with its own content type, or a stream. */
export interface Response {
  status: number;
  body?: unknown;
  text?: string;
  /** Raw bytes (a static file, maybe compressed); sent as they are, with `contentType`. */
  bytes?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /**
   * When set, the status and headers go out at once and the body is written by `stream`.
   * `stream` is called exactly once, also when the client left before the answer (then
   * with a stream already closed), so what it holds is always freed by its onClose.
   */
  stream?: (out: EventStream) => void;
}

/** Byte counters an HTTP server feeds. */
export interface HttpByteCounters {
  received: Counter;
  sent: Counter;
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized",
  403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
  413: "Payload Too Large", 422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
  502: "Bad Gateway", 503: "Service Unavailable",
};

/** Thrown by readBody when the body is over its limit. */
export class BodyTooLargeError extends Error {}

function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      size += chunk.byteLength;
      if (size > limit) return reject(new BodyTooLargeError(`Body is larger than ${limit} bytes`));
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) resolve(Buffer.concat(chunks));
    });
  });
}

function headerBytes(headers: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers)) n += k.length + v.length + 4;
  return n;
}

// An event stream whose client left before it began: nothing is sent, onClose runs at once.
const CLOSED_STREAM: EventStream = { send: () => undefined, end: () => undefined, onClose: (fn) => fn() };

/**
 * Serves every request on `app` through `handle`, counting bytes in and out. `onError`
 * answers what `handle` threw, and a body that could not be read (over the limit).
 */
export function serveHttp(
  app: TemplatedApp,
  opts: { bodyLimit: number; counters: HttpByteCounters; onError: (err: unknown, head: RequestHead) => Response },
  handle: (req: Request) => Promise<Response>,
): void {
  app.any("/*", (res: HttpResponse, uReq: HttpRequest) => {
    let aborted = false;
    const closeHandlers: (() => void)[] = [];
    const runCloseHandlers = () => closeHandlers.splice(0).forEach((fn) => fn());
    res.onAborted(() => {
      aborted = true;
      runCloseHandlers();
    });
    const headers: Record<string, string> = {};
    uReq.forEach((k, v) => {
      headers[k] = v;
    });
    const method = uReq.getMethod().toUpperCase();
    const path = uReq.getUrl();
    const query = new URLSearchParams(uReq.getQuery() ?? "");
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString("latin1");
    const head: RequestHead = { method, path, query, headers, remoteAddress };
    opts.counters.received.inc(method.length + path.length + headerBytes(headers));
    const bodyPromise = method === "GET" || method === "HEAD" ? Promise.resolve(Buffer.alloc(0)) : readBody(res, opts.bodyLimit);

    bodyPromise
      .then((body) => {
        opts.counters.received.inc(body.length);
        return handle({ ...head, body });
      })
      .catch((err) => opts.onError(err, head))
      .then((out) => {
        if (aborted) {
          if (out.stream) out.stream(CLOSED_STREAM);
          return;
        }
        if (out.stream) {
          const contentType = out.contentType ?? "text/event-stream";
          res.cork(() => {
            res.writeStatus(`${out.status} ${STATUS_TEXT[out.status] ?? ""}`.trim());
            res.writeHeader("content-type", contentType).writeHeader("cache-control", "no-cache");
            for (const [k, v] of Object.entries(out.headers ?? {})) res.writeHeader(k, v);
          });
          out.stream({
            send: (chunk) => {
              if (aborted) return;
              opts.counters.sent.inc(Buffer.byteLength(chunk));
              res.cork(() => res.write(chunk));
            },
            end: () => {
              if (aborted) return;
              aborted = true;
              res.cork(() => res.end());
              runCloseHandlers();
            },
            onClose: (fn) => (aborted ? fn() : closeHandlers.push(fn)),
          });
          return;
        }
        const payload = out.bytes ?? out.text ?? (out.body === undefined ? "" : JSON.stringify(out.body));
        const contentType = out.contentType ?? "application/json";
        const extra = out.headers ?? {};
        opts.counters.sent.inc(Buffer.byteLength(payload) + headerBytes(extra) + contentType.length + 32);
        res.cork(() => {
          res.writeStatus(`${out.status} ${STATUS_TEXT[out.status] ?? ""}`.trim());
          if (payload.length > 0 || (out.status !== 204 && out.status !== 304)) res.writeHeader("content-type", contentType);
          for (const [k, v] of Object.entries(extra)) res.writeHeader(k, v);
          res.end(payload);
        });
      });
  });
}

/** Listens on host:port (0 = any free port) and returns the port and a close function. */
export function listen(uws: { us_listen_socket_close(s: unknown): void; us_socket_local_port(s: unknown): number }, app: TemplatedApp, host: string, port: number): Promise<{ port: number; close: () => void }> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => {
      if (!socket) return reject(new Error(`Cannot listen on ${host}:${port}: address in use or not allowed`));
      resolve({ port: uws.us_socket_local_port(socket), close: () => uws.us_listen_socket_close(socket) });
    });
  });
}
