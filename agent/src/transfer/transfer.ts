// File transfer against the object store, by presigned URL: inputs by GET here, outputs
// and logs by PUT in upload_requests.ts. Bytes stream between disk and network (model
// checkpoints are gigabytes) and are hashed on the way, so each file is read once per try.
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { redactUrl } from "../runtime/log.ts";
import { sleep } from "../runtime/timers.ts";
import type { ProxyEnv } from "../session/proxy.ts";

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
