// One API over a real socket (uWebSockets.js) on real Redis and MariaDB, with an injected
// clock, and fetch as the client: the fixture of the users/tokens, audit, usage and job
// list/log tests. Calls and the error-body check (code, message, details and the request id
// X-Request-Id carries) are api_client.ts's, shared with the contract tests.
import { expect } from "vitest";
import { startApi, type RunningApi } from "@labbridge/api";
import { createEnrollmentToken, enrollAgent } from "@labbridge/store";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";
import { apiCaller, expectError, type Answer } from "./api_client.ts";

export { expectError, type Answer };

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
  f.call = apiCaller(() => base, () => f.admin);
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
