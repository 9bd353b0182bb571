// File transfer against the object store, by presigned URL: inputs by GET, outputs and
// logs by PUT. Bytes stream between disk and network (model checkpoints are gigabytes)
// and are hashed on the way, so each file is read once per try.
//
// Uploads use node:http(s) rather than fetch: Deno's fetch sends a streamed body with
// `Transfer-Encoding: chunked` and drops Content-Length, which presigned PUTs to OSS/S3
// refuse. node:http sends the exact Content-Length we give it.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { dirname } from "node:path";
import { redactUrl } from "../runtime/log.ts";
import { sleep } from "../runtime/timers.ts";
import { type ProxyEnv, proxyFor, readProxyEnv } from "../session/proxy.ts";
import { proxiedRequest } from "./proxy_tunnel.ts";

export class TransferError extends Error {
  override name = "TransferError";
}

export interface RetryPolicy {
  tries: number;
  baseDelayMs: number;
  /** A request that moves no byte for this long is abandoned (stalled lab uplink). */
  idleTimeoutMs: number;
  /** The proxy variables uploads follow; absent: this process's environment (as fetch and the WebSocket do). */
  proxyEnv?: ProxyEnv;
}

export const DEFAULT_RETRY: RetryPolicy = { tries: 4, baseDelayMs: 500, idleTimeoutMs: 60_000 };

/** Runs `fn` up to `policy.tries` times with doubling delays; rethrows the last error. */
export async function withRetries<T>(
  policy: RetryPolicy,
  signal: AbortSignal,
  fn: (attempt: number) => Promise<T>,
  onRetry?: (e: unknown, attempt: number) => void,
): Promise<T> {
  let last: unknown;
  for (let attempt = 1; attempt <= policy.tries; attempt++) {
    if (signal.aborted) throw signal.reason ?? new TransferError("aborted");
    try {
      return await fn(attempt);
    } catch (e) {
      last = e;
      if (signal.aborted || attempt === policy.tries) break;
      onRetry?.(e, attempt);
      await sleep(policy.baseDelayMs * 2 ** (attempt - 1), signal);
    }
  }
  throw last;
}

/** Streamed sha256 of a file, as lowercase hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** What arrived is not what was declared (size or sha256): the partial file is worthless. */
export class IntegrityError extends TransferError {
  override name = "IntegrityError";
}

/** Bytes already in `part` that a retry may build on, or 0. */
async function resumableBytes(part: string, expectedSize: number | undefined): Promise<number> {
  try {
    const have = (await Deno.stat(part)).size;
    return expectedSize !== undefined && have >= expectedSize ? 0 : have;
  } catch {
    return 0;
  }
}

/** Feeds the bytes already downloaded into `hash` (a resumed download hashes the whole file). */
async function hashExisting(part: string, hash: ReturnType<typeof createHash>): Promise<void> {
  const file = await Deno.open(part, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
}

/**
 * GETs `url` into `dest` (via a .part file renamed on success), checking the expected size
 * and sha256 when given. Returns the size and hash of what arrived.
 *
 * A try that failed on the network keeps its .part file, and the next try asks only for the
 * rest (`Range`), so a multi-gigabyte input over a flaky campus link is not fetched from the
 * start each time; a store that ignores Range (200) just sends it all again. A file that
 * arrived wrong (size or sha256) is thrown away.
 */
export async function downloadFile(
  url: string,
  dest: string,
  expect: { size?: number; sha256?: string },
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<{ size: number; sha256: string }> {
  const scheme = new URL(url).protocol;
  if (scheme !== "http:" && scheme !== "https:") throw new TransferError(`input URL scheme ${scheme} is not http(s)`);
  await Deno.mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const idle = new AbortController();
  let idleTimer = setTimeout(() => idle.abort(), policy.idleTimeoutMs);
  const bump = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => idle.abort(), policy.idleTimeoutMs);
  };
  const both = AbortSignal.any([signal, idle.signal]);
  try {
    const have = await resumableBytes(part, expect.size);
    const res = await fetch(url, { signal: both, headers: have > 0 ? { Range: `bytes=${have}-` } : {} });
    const resumed = have > 0 && res.status === 206 && (res.headers.get("content-range") ?? "").startsWith(`bytes ${have}-`);
    if (!(res.ok && res.status !== 206) && !resumed) {
      await res.body?.cancel();
      // 416: what we hold cannot be continued; start over on the next try.
      if (res.status === 416) await Deno.remove(part).catch(() => {});
      throw new TransferError(`GET ${redactUrl(url)} answered ${res.status}`);
    }
    if (!res.body) throw new TransferError(`GET ${redactUrl(url)} answered without a body`);
    const hash = createHash("sha256");
    let size = 0;
    if (resumed) {
      await hashExisting(part, hash);
      size = have;
    }
    const file = await Deno.open(part, resumed ? { write: true, append: true } : { write: true, create: true, truncate: true });
    const counting = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        bump();
        hash.update(chunk);
        size += chunk.length;
        if (expect.size !== undefined && size > expect.size) {
          ctl.error(new IntegrityError(`input is larger than its declared ${expect.size} bytes`));
          return;
        }
        ctl.enqueue(chunk);
      },
    });
    // pipeTo closes (or aborts) the file handle whatever happens.
    await res.body.pipeThrough(counting).pipeTo(file.writable, { signal: both });
    const sha256 = hash.digest("hex");
    if (expect.size !== undefined && size !== expect.size) throw new IntegrityError(`input has ${size} bytes, expected ${expect.size}`);
    if (expect.sha256 !== undefined && sha256 !== expect.sha256.toLowerCase()) throw new IntegrityError(`input sha256 is ${sha256}, expected ${expect.sha256}`);
    await Deno.rename(part, dest);
    return { size, sha256 };
  } catch (e) {
    // Keep what arrived for the next try unless it is wrong or the attempt is over.
    if (e instanceof IntegrityError || signal.aborted) await Deno.remove(part).catch(() => {});
    if (idle.signal.aborted && !signal.aborted) throw new TransferError(`GET ${redactUrl(url)} stalled for ${policy.idleTimeoutMs} ms`);
    throw e;
  } finally {
    clearTimeout(idleTimer);
  }
}

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
