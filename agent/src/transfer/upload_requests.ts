// Uploads to the object store by presigned URL: a file (or a byte range of it, a multipart
// part) by PUT, and the small control requests of a multipart upload (complete, abort).
// Through the proxy when one applies, as the socket and downloads go.
//
// node:http(s) rather than fetch: Deno's fetch sends a streamed body with
// `Transfer-Encoding: chunked` and drops Content-Length, which presigned PUTs to OSS/S3
// refuse. node:http sends the exact Content-Length we give it.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { redactUrl } from "../runtime/log.ts";
import { proxyFor, readProxyEnv } from "../session/proxy.ts";
import { proxiedRequest } from "./proxy_tunnel.ts";
import { type RetryPolicy, TransferError } from "./transfer.ts";

/**
 * PUTs the first `size` bytes of `path` to a presigned URL with exactly `headers` plus
 * Content-Length; resolves with the sha256 of the bytes sent when the store answers 2xx.
 */
export async function uploadFile(
  url: string,
  headers: Record<string, string>,
  path: string,
  size: number,
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<string> {
  const hash = createHash("sha256");
  await uploadRange(url, headers, path, { start: 0, end: size }, policy, signal, (_, bytes) => hash.update(bytes));
  return hash.digest("hex");
}

/** Where in a file a chunk being sent lies, and its bytes. */
export type ChunkObserver = (offset: number, bytes: Uint8Array) => void;

/**
 * PUTs bytes [start, end) of `path` (read from disk at that offset) to a presigned URL
 * with exactly `headers` plus Content-Length, through the proxy when one applies; tells
 * `onChunk` of every chunk sent. Resolves with the ETag the store answered (a multipart
 * part's completion names it), or "" when it sent none.
 */
export async function uploadRange(
  url: string,
  headers: Record<string, string>,
  path: string,
  range: { start: number; end: number },
  policy: RetryPolicy,
  signal: AbortSignal,
  onChunk: ChunkObserver = () => {},
): Promise<string> {
  const { target, via } = await route(url, policy);
  return sendFileRange(url, target, via, headers, path, range, policy, signal, onChunk);
}

/** Sends a small presigned control request (complete, abort) with `body`; resolves with the answer's body when 2xx. */
export async function sendRequest(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<string> {
  const { target, via } = await route(url, policy);
  const { status, text } = await exchange(method, url, target, via, headers, body, policy, signal);
  if (status < 200 || status > 299) throw new TransferError(`${method} ${redactUrl(url)} answered ${status}${text ? `: ${text.slice(0, 200)}` : ""}`);
  return text;
}

type Via = Awaited<ReturnType<typeof proxiedRequest>> | null;

async function route(url: string, policy: RetryPolicy): Promise<{ target: URL; via: Via }> {
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:") throw new TransferError(`upload URL scheme ${target.protocol} is not http(s)`);
  const proxy = proxyFor(target, policy.proxyEnv ?? readProxyEnv((n) => Deno.env.get(n)));
  return { target, via: proxy ? await proxiedRequest(target, proxy, policy.idleTimeoutMs) : null };
}

/** Request options for `target`: to the proxy in absolute form (http), or over the CONNECT tunnel (https). */
function requestOptions(method: string, target: URL, via: Via, headers: Record<string, string>) {
  return {
    method,
    hostname: via?.hostname ?? target.hostname,
    port: via?.port ?? (target.port || undefined),
    path: via?.path ?? `${target.pathname}${target.search}`,
    headers: { ...via?.headers, ...headers },
    ...(via?.createConnection ? { createConnection: via.createConnection, agent: false } : {}),
  };
}

function exchange(
  method: string,
  url: string,
  target: URL,
  via: Via,
  headers: Record<string, string>,
  body: Uint8Array,
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    let done = false;
    const finish = (e: Error | null, value?: { status: number; text: string }) => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", onAbort);
      if (e) {
        req.destroy();
        reject(e);
      } else resolve(value!);
    };
    const onAbort = () => finish(new TransferError(`${method} aborted`));
    const req = send(requestOptions(method, target, via, { ...headers, "Content-Length": String(body.length) }), (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        if (text.length < 4096) text += c;
      });
      res.on("end", () => finish(null, { status: res.statusCode ?? 0, text }));
      res.on("error", (e: Error) => finish(e));
    });
    req.setTimeout(policy.idleTimeoutMs, () => finish(new TransferError(`${method} ${redactUrl(url)} stalled for ${policy.idleTimeoutMs} ms`)));
    req.on("error", (e: Error) => finish(new TransferError(`${method} ${redactUrl(url)} failed: ${e.message}`)));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    req.end(body);
  });
}

function sendFileRange(
  url: string,
  target: URL,
  via: Via,
  headers: Record<string, string>,
  path: string,
  range: { start: number; end: number },
  policy: RetryPolicy,
  signal: AbortSignal,
  onChunk: ChunkObserver,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const size = range.end - range.start;
    let sent = 0;
    let done = false;
    let source: ReturnType<typeof createReadStream> | null = null;
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", onAbort);
      req.destroy();
      source?.destroy();
      reject(e);
    };
    const onAbort = () => fail(new TransferError("upload aborted"));
    // Presigned signatures cover some headers: send them exactly as the gateway gave them.
    const req = send(requestOptions("PUT", target, via, { ...headers, "Content-Length": String(size) }), (res) => {
      const status = res.statusCode ?? 0;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        if (body.length < 512) body += c;
      });
      res.on("end", () => {
        if (done) return;
        if (status < 200 || status > 299) return fail(new TransferError(`PUT ${redactUrl(url)} answered ${status}${body ? `: ${body.slice(0, 200)}` : ""}`));
        if (sent !== size) return fail(new TransferError(`sent ${sent} of ${size} bytes`));
        done = true;
        signal.removeEventListener("abort", onAbort);
        const etag = res.headers.etag;
        resolve(typeof etag === "string" ? etag : "");
      });
      res.on("error", (e: Error) => fail(e));
    });
    req.setTimeout(policy.idleTimeoutMs, () => fail(new TransferError(`PUT ${redactUrl(url)} stalled for ${policy.idleTimeoutMs} ms`)));
    req.on("error", (e: Error) => fail(new TransferError(`PUT ${redactUrl(url)} failed: ${e.message}`)));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    // Reading exactly `size` bytes keeps Content-Length true even if the file grows meanwhile.
    if (size === 0) {
      req.end();
      return;
    }
    source = createReadStream(path, { start: range.start, end: range.end - 1 });
    source.on("data", (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
      onChunk(range.start + sent, bytes);
      sent += bytes.length;
    });
    source.on("end", () => {
      if (sent !== size) fail(new TransferError(`file shrank to ${range.start + sent} of ${range.end} bytes during upload`));
    });
    source.on("error", (e: Error) => fail(new TransferError(`reading ${path} failed: ${e.message}`)));
    source.pipe(req);
  });
}
