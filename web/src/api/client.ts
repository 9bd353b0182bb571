// Calls to the public API from the page: the token goes only in the Authorization header,
// and every failure becomes an ApiFailure carrying the API's own message and request id,
// so what a user reports names one id the logs can be searched for.
import { sessionToken } from "../session.ts";
import type { ErrorAnswer } from "@labbridge/protocol";

/** A call that did not succeed, as the API explained it. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
  ) {
    super(message);
  }
}

/** Any error as an ApiFailure: a bug or a browser error in the page reads like an API one. */
export function asFailure(err: unknown): ApiFailure {
  return err instanceof ApiFailure ? err : new ApiFailure(0, "client", err instanceof Error ? err.message : String(err), null);
}

function isErrorAnswer(v: unknown): v is ErrorAnswer {
  return typeof v === "object" && v !== null && typeof (v as ErrorAnswer).error?.message === "string";
}

/** The failure a non-2xx response stands for. */
export async function failureOf(res: Response): Promise<ApiFailure> {
  const text = await res.text().catch(() => "");
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: a proxy's page, say; told by status below
  }
  const headerId = res.headers.get("x-request-id");
  if (isErrorAnswer(body)) return new ApiFailure(res.status, body.error.code, body.error.message, body.error.request_id ?? headerId);
  return new ApiFailure(res.status, "http_" + res.status, `Request failed: HTTP ${res.status} ${res.statusText}`.trim(), headerId);
}

/** Headers for an API call with this tab's token. */
export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const token = sessionToken();
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/** Calls the API and returns its JSON answer; throws ApiFailure otherwise. */
export async function api<T>(method: string, path: string, body?: unknown, opts: { token?: string; headers?: Record<string, string> } = {}): Promise<T> {
  const headers = opts.token ? { ...opts.headers, authorization: `Bearer ${opts.token}` } : authHeaders(opts.headers);
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiFailure(0, "network", `Cannot reach the API: ${(err as Error).message}`, null);
  }
  if (!res.ok) throw await failureOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** A query string of the filters that are set (empty ones are left out: the API refuses unknown or empty values). */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
