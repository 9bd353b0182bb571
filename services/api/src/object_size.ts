// The size of an object in the store, by a HEAD request signed here (ali-oss signs locally):
// for files whose size nobody reported, such as an attempt's logs. Only headers travel; the
// bytes never pass through the API.
import type { ObjectStorage } from "@labbridge/storage";
import { ApiError } from "./api_error.ts";

/** A HEAD waits at most this long: a list must not hang on a slow store. */
const HEAD_TIMEOUT_MS = 5000;

/** Bytes stored under `key`, or null when there is no such object; 503 when the store cannot answer. */
export async function objectSize(storage: ObjectStorage, key: string): Promise<number | null> {
  try {
    const head = await storage.client.head(key, { timeout: HEAD_TIMEOUT_MS });
    const length = Number((head.res.headers as Record<string, string | undefined>)["content-length"]);
    if (!Number.isSafeInteger(length) || length < 0) throw new Error(`no Content-Length for "${key}"`);
    return length;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return null;
    throw new ApiError("unavailable", `Object store did not answer for "${key}": ${(err as Error).message}`);
  }
}
