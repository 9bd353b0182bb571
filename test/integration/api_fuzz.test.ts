import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEV_STORAGE } from "@labbridge/config";
import { startOssLocal, type OssLocal } from "@labbridge/oss-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { ROUTES, startApi, type RunningApi } from "@labbridge/api";
import { createLogger } from "@labbridge/logging";
import { createApiToken, createEnrollmentToken, enrollAgent } from "@labbridge/store";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";
import { fuzzRequest, PARSED_METHODS, PARSER_URL_LIMIT, type FuzzIds, type FuzzRequest } from "./fuzz_requests.ts";

// A few thousand generated bad requests over real HTTP to a real API (real Redis and
// MariaDB): no answer may be a 5xx, every error must be the structured body with the
// request id of its X-Request-Id header, and the API must still serve afterwards.
// LB_FUZZ_SEED replays a run (the seed is printed); LB_FUZZ_REQUESTS changes its size;
// LB_FUZZ_DUMP=<file> writes the failing requests there as JSON.

const REQUESTS = Number(process.env.LB_FUZZ_REQUESTS ?? 3000);
const SEED = Number(process.env.LB_FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONCURRENCY = 8;

let env: TestEnv;
let api: RunningApi;
let base: string;
let ids: FuzzIds;

let store: OssLocal;
let storeDir: string;

beforeAll(async () => {
  // A real object store: a valid upload over the part size makes the API start a multipart
  // upload there, and without a store that is a 503 (a dependency away), not the API's fault.
  storeDir = await mkdtemp(join(tmpdir(), "lb-fuzz-"));
  store = await startOssLocal({ port: 0, dataDir: join(storeDir, "store"), ...DEV_STORAGE });
  env = await createTestEnv({ LB_OSS_ENDPOINT: store.url });
  // Errors we cause on purpose are not news; a 500 would still fail the test.
  api = await startApi(env.config, { log: createLogger("api-fuzz", "fatal") });
  base = `http://127.0.0.1:${api.port}`;
  const adminToken = env.config.adminToken!;
  const job = await (await fetch(`${base}/v1/jobs`, { method: "POST", headers: { authorization: `Bearer ${adminToken}` }, body: JSON.stringify({ command: ["x"] }) })).json() as { id: string };
  const { token } = await createEnrollmentToken(api.ctx.pool, { createdBy: "admin", ttlSeconds: 600, labels: {}, now: new Date() });
  const agent = await enrollAgent(api.ctx.pool, { token, name: "fuzz", hostname: "fuzz", os: "linux", labels: {}, now: new Date() });
  ids = { jobId: job.id, agentId: agent!.agentId, adminToken, userToken: (await createApiToken(api.ctx.pool, {
    owner: "fuzzer", role: "user", ttlSeconds: 3600, now: new Date(), by: { actor: "admin", role: "admin", requestId: null },
  })).token };
}, 60_000);

afterAll(async () => {
  await api?.close();
  await env?.cleanup();
  await store?.close();
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
});

/** Requests uWS's HTTP parser drops, closing the connection before any code of ours runs. */
function beyondParser(req: FuzzRequest): boolean {
  return !PARSED_METHODS.includes(req.method) || req.path.length > PARSER_URL_LIMIT;
}

// Answered 413 while the client still sends a body over the limit: the client may see the reset.
const BODY_LIMIT = 64 * 1024;

/** What is wrong with one answer, "dropped" when the parser dropped it as it must, or null. */
async function problemWith(req: FuzzRequest): Promise<string | null> {
  const ctl = new AbortController();
  let res: Response;
  try {
    res = await fetch(`${base}${req.path}`, { method: req.method, headers: req.headers, body: req.body, signal: ctl.signal });
  } catch (err) {
    const closed = /other side closed|ECONNRESET|socket hang up/.test(String((err as { cause?: Error }).cause?.message));
    if (closed && (beyondParser(req) || Buffer.byteLength(req.body ?? "") > BODY_LIMIT)) return "dropped";
    throw err;
  }
  const requestId = res.headers.get("x-request-id");
  if (res.headers.get("content-type")?.startsWith("text/event-stream")) {
    // A live event stream of a real job: it stays open, so the client leaves.
    ctl.abort();
    return res.status === 200 && requestId ? null : `event stream ${res.status} without a request id`;
  }
  const text = await res.text();
  if (res.status >= 500) return `${res.status}: ${text.slice(0, 300)}`;
  if (!requestId) return `${res.status} without X-Request-Id`;
  if (res.headers.get("uwebsockets") !== null) return "uWebSockets header";
  if (res.status < 400 || req.method === "HEAD") return null;
  let body: { error?: { code?: unknown; message?: unknown; details?: unknown; request_id?: unknown } };
  try {
    body = JSON.parse(text);
  } catch {
    return `${res.status} error is not JSON: ${text.slice(0, 200)}`;
  }
  const e = body.error;
  if (!e || typeof e.code !== "string" || typeof e.message !== "string" || typeof e.details !== "object" || e.details === null) return `${res.status} error body not structured: ${text.slice(0, 200)}`;
  if (e.request_id !== requestId) return `${res.status} error.request_id ${String(e.request_id)} is not X-Request-Id ${requestId}`;
  return null;
}

describe("API fuzz", () => {
  it("a few thousand generated bad requests get no 5xx, each error structured with its request id, and the API still serves", async () => {
    const requests = fc.sample(fuzzRequest(ROUTES, ids), { numRuns: REQUESTS, seed: SEED });
    const started = performance.now();
    const failures: { req: FuzzRequest; problem: string }[] = [];
    let dropped = 0;
    let answered = 0;
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const req = requests[next++]!;
        let problem: string | null;
        try {
          problem = await problemWith(req);
        } catch (err) {
          problem = `request failed: ${(err as Error).message}: ${String((err as { cause?: Error }).cause?.message ?? "")}`;
        }
        if (problem === "dropped") dropped++;
        else if (problem) failures.push({ req, problem });
        else answered++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    const fiveXX = failures.filter((f) => /^5\d\d/.test(f.problem)).length;
    console.log(`api fuzz: seed ${SEED}, ${requests.length} requests in ${seconds.toFixed(1)} s: ${answered} answered as the contract says, ` +
      `${dropped} dropped by uWS's parser (unknown method, request line over its limit, body past 64 KiB), ${fiveXX} 5xx, ${failures.length} failures`);
    if (process.env.LB_FUZZ_DUMP) {
      (await import("node:fs")).writeFileSync(process.env.LB_FUZZ_DUMP, JSON.stringify(failures));
      const kinds = new Map<string, FuzzRequest>();
      for (const f of failures) kinds.set(`${f.problem.slice(0, 60)} ${/^[A-Z]+$/.test(f.req.method) && ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].includes(f.req.method) ? f.req.method : "ODD"}`, f.req);
      for (const [k, r] of kinds) console.log(k, "::", r.method, r.path.slice(0, 150), JSON.stringify(r.headers).slice(0, 150), (r.body ?? "").slice(0, 150));
    }
    expect(failures.slice(0, 5).map((f) => `${f.problem}\n  ${f.req.method} ${f.req.path.slice(0, 200)} ${JSON.stringify(f.req.headers).slice(0, 200)} ${(f.req.body ?? "").slice(0, 200)}`)).toEqual([]);

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const after = await fetch(`${base}/v1/jobs`, { method: "POST", headers: { authorization: `Bearer ${ids.adminToken}` }, body: JSON.stringify({ command: ["still", "serving"] }) });
    expect(after.status).toBe(201);
  }, 120_000);
});
