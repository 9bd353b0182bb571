// A client of the HTTP API for tests: fetch over a real socket, as a client would, and the
// one check of API.md's structured error body that every API test shares.
import { expect } from "vitest";

/** One answer. */
export interface Answer {
  status: number;
  headers: Headers;
  /** The parsed JSON body; tests read it loosely, as a client would. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

/** Options of one call: the token (null for none), a JSON body or a raw one, headers, another base URL. */
export interface CallOptions {
  token?: string | null;
  body?: unknown;
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
  url?: string;
}

/** A caller bound to an API's base URL and a default token. */
export function apiCaller(base: () => string, defaultToken: () => string) {
  return async function call(method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? defaultToken() : opts.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Uint8Array | undefined = opts.raw;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${opts.url ?? base()}${path}`, { method, headers, body: body as BodyInit | undefined });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
}

/**
 * Asserts the structured error body of API.md (code, message, details, and the request id
 * that X-Request-Id carries) and returns it.
 */
export function expectError(a: Answer, status: number, code: string) {
  expect(a.status, a.text).toBe(status);
  expect(a.headers.get("content-type")).toMatch(/^application\/json/);
  expect(Object.keys(a.body)).toEqual(["error"]);
  expect(a.body.error).toEqual({ code, message: expect.any(String), details: expect.any(Object), request_id: expect.any(String) });
  expect(a.body.error.message.length).toBeGreaterThan(0);
  expect(a.body.error.request_id).toBe(a.headers.get("x-request-id"));
  return a.body.error as { code: string; message: string; details: Record<string, unknown>; request_id: string };
}
