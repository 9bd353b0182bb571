// One API over a real socket (uWebSockets.js) on real Redis and MariaDB, with an injected
// clock, and fetch as the client: the fixture of the users/tokens, audit, usage and job
// list/log tests. Error bodies are checked loosely enough for fields the contract adds
// (error.request_id) and strictly on what these tests are about (status and code).
import { expect } from "vitest";
import { startApi, type RunningApi } from "@labbridge/api";
import { createEnrollmentToken, enrollAgent } from "@labbridge/store";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

/** An HTTP answer, its JSON body read loosely as a client would. */
export interface Answer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

/** A running API for one test, with its clock and the admin token. */
export interface ApiFixture {
  env: TestEnv;
  api: RunningApi;
  admin: string;
  /** The API's clock (ms); tests move it. */
  now: number;
  /** Calls this API (or the one at `opts.url`, a base such as http://127.0.0.1:port) as the admin unless `token` says otherwise. */
  call(method: string, path: string, opts?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string>; url?: string }): Promise<Answer>;
  /** Mints a token through the API and returns the answer's body. */
  mint(owner: string, role?: "user" | "admin", extra?: Record<string, unknown>): Promise<{ id: string; token: string; owner: string; role: string; name: string; expires_at: string }>;
  /** Submits a job through the API and returns its body. */
  submit(token: string, body?: Record<string, unknown>): Promise<{ id: string; owner: string; name: string | null; state: string }>;
  /** Enrolls an agent straight in the store; returns its id. */
  enrolledAgent(labels?: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

/** Starts the API on a fresh environment; `overrides` are LB_* variables. */
export async function startApiFixture(t0: number, overrides: Record<string, string> = {}): Promise<ApiFixture> {
  const env = await createTestEnv(overrides);
  const f = { env, now: t0 } as ApiFixture;
  f.api = await startApi(env.config, { clock: () => f.now });
  f.admin = env.config.adminToken!;
  const base = `http://127.0.0.1:${f.api.port}`;
  f.call = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? f.admin : opts.token;
    if (token) headers.authorization = `Bearer ${token}`;
    const body = opts.body !== undefined ? JSON.stringify(opts.body) : opts.raw;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${opts.url ?? base}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  f.mint = async (owner, role = "user", extra = {}) => {
    const a = await f.call("POST", "/v1/api-tokens", { body: { owner, role, ...extra } });
    expect(a.status, a.text).toBe(201);
    return a.body;
  };
  f.submit = async (token, body = {}) => {
    const a = await f.call("POST", "/v1/jobs", { token, body: { command: ["python", "train.py"], ...body } });
    expect(a.status, a.text).toBe(201);
    return a.body;
  };
  f.enrolledAgent = async (labels = {}) => {
    const { token } = await createEnrollmentToken(f.api.ctx.pool, { createdBy: "admin", ttlSeconds: 600, labels, now: new Date(f.now) });
    const enrolled = await enrollAgent(f.api.ctx.pool, { token, name: "ws-b201-07", hostname: "ws-b201-07", os: "linux", labels: {}, now: new Date(f.now) });
    return enrolled!.agentId;
  };
  f.close = async () => {
    await f.api.close();
    await env.cleanup();
  };
  return f;
}

/** Asserts a structured error of API.md with this status and code; returns `error`. */
export function expectError(a: Answer, status: number, code: string): { code: string; message: string; details: Record<string, unknown> } {
  expect(a.status, a.text).toBe(status);
  expect(a.headers.get("content-type")).toMatch(/^application\/json/);
  expect(Object.keys(a.body)).toEqual(["error"]);
  expect(a.body.error).toMatchObject({ code, message: expect.any(String), details: expect.any(Object) });
  expect(a.body.error.message.length).toBeGreaterThan(0);
  return a.body.error;
}
