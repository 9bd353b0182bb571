import { connect } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ROUTES, startApi, type RunningApi } from "@labbridge/api";
import { createEnrollmentToken, enrollAgent } from "@labbridge/store";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";
import { apiCaller, expectError } from "./api_client.ts";
import { CapturedLog } from "./captured_log.ts";

// API.md "Conventions" over a real socket against real Redis and MariaDB: request ids,
// unknown fields and query parameters refused, 405 with Allow, and every malformed input
// a structured 4xx. The findings of issue 9 are kept here as regression tests, by name.

let env: TestEnv;
let api: RunningApi;
let base: string;
let log: CapturedLog;

beforeEach(async () => {
  env = await createTestEnv();
  log = new CapturedLog();
  api = await startApi(env.config, { log: log.logger });
  base = `http://127.0.0.1:${api.port}`;
});

afterEach(async () => {
  await api.close();
  await env.cleanup();
});

const call = apiCaller(() => base, () => env.config.adminToken!);

async function userToken(owner: string): Promise<string> {
  const a = await call("POST", "/v1/api-tokens", { body: { owner, role: "user" } });
  expect(a.status, a.text).toBe(201);
  return a.body.token as string;
}

async function enrolledAgent(): Promise<string> {
  const { token } = await createEnrollmentToken(api.ctx.pool, { createdBy: "admin", ttlSeconds: 600, labels: {}, now: new Date() });
  const enrolled = await enrollAgent(api.ctx.pool, { token, name: "ws-1", hostname: "ws-1", os: "linux", labels: {}, now: new Date() });
  return enrolled!.agentId;
}

describe("request ids", () => {
  it("every response carries X-Request-Id: successes, errors, service endpoints and a body over the limit", async () => {
    const answers = [
      await call("GET", "/healthz", { token: null }),
      await call("GET", "/v1/jobs"),
      await call("GET", "/v1/nothing"),
      await call("POST", "/v1/jobs", { raw: JSON.stringify({ command: ["x"], name: "n".repeat(70 * 1024) }) }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 404, 413]);
    for (const a of answers) expect(a.headers.get("x-request-id")).toMatch(/^req_[0-9A-Z]{26}$/);
    expect(new Set(answers.map((a) => a.headers.get("x-request-id"))).size).toBe(4);
    expectError(answers[3]!, 413, "payload_too_large");
  });

  it("the caller's sane X-Request-Id is kept, in the header and in the error body", async () => {
    for (const id of ["a", "3f2b8c1e-5d4a-4c3b-9a2e-1f0d9c8b7a6e", "trace:01JGG.x_y-z", "r".repeat(64)]) {
      const a = await call("GET", "/v1/jobs/job_00000000000000000000000000", { headers: { "x-request-id": id } });
      expect(expectError(a, 404, "not_found").request_id).toBe(id);
    }
  });

  it("an X-Request-Id that is too long, empty or has other characters is replaced by a new one", async () => {
    for (const id of ["r".repeat(65), "", "has space", "semi;colon", "quote\"", "é"]) {
      const a = await call("GET", "/v1/jobs/job_00000000000000000000000000", { headers: { "x-request-id": id } });
      expect(expectError(a, 404, "not_found").request_id, JSON.stringify(id)).toMatch(/^req_[0-9A-Z]{26}$/);
    }
  });

  it("every log line written while serving a request carries its request_id", async () => {
    const a = await call("POST", "/v1/jobs", { body: { command: ["x"] }, headers: { "x-request-id": "bug-report-42" } });
    expect(a.status, a.text).toBe(201);
    const submitted = log.withMsg("job submitted");
    expect(submitted).toHaveLength(1);
    expect(submitted[0]).toMatchObject({ request_id: "bug-report-42", job_id: a.body.id });
    // A request that fails unexpectedly is logged with its id too (here: MySQL gone under the API).
    await api.ctx.pool.end();
    const down = await call("GET", "/v1/jobs", { headers: { "x-request-id": "bug-report-43" } });
    expect(down.status).toBeGreaterThanOrEqual(500);
    expect(log.lines.filter((l) => l.request_id === "bug-report-43").length).toBeGreaterThan(0);
  });

  it("an admin's agent patch is audited with the request id of the call, the caller's or a new one", async () => {
    const agentId = await enrolledAgent();
    const longest = "p".repeat(64);
    expect((await call("PATCH", `/v1/agents/${agentId}`, { body: { slots: 2 }, headers: { "x-request-id": longest } })).status).toBe(200);
    const fresh = await call("PATCH", `/v1/agents/${agentId}`, { body: { slots: 3 } });
    expect(fresh.status).toBe(200);
    const [rows] = await api.ctx.pool.query("SELECT request_id FROM audit_log WHERE target_id = ? ORDER BY id", [agentId]);
    expect(rows).toEqual([{ request_id: longest }, { request_id: fresh.headers.get("x-request-id") }]);
  });
});

/** Sends raw bytes as one HTTP/1.1 request and returns the status and headers of the answer. */
function rawRequest(head: Buffer): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    // write, not end: uWS closes a half-closed socket without answering.
    const socket = connect(api.port, "127.0.0.1", () => socket.write(head));
    let data = "";
    socket.on("data", (b) => (data += b.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => {
      const [top = "", body = ""] = data.split("\r\n\r\n");
      const [statusLine = "", ...lines] = top.split("\r\n");
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body });
    });
  });
}

describe("bytes a browser would never send", () => {
  it("raw non-ASCII bytes in the path, a header and the Idempotency-Key are answered with a structured 4xx or a 2xx, never a 5xx", async () => {
    const token = Buffer.from(`Bearer ${env.config.adminToken}`);
    const cases = [
      Buffer.concat([Buffer.from("GET /v1/jobs/"), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: "), token, Buffer.from("\r\n\r\n")]),
      Buffer.concat([Buffer.from("GET /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: "), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from("\r\nAuthorization: "), token, Buffer.from("\r\n\r\n")]),
      Buffer.concat([Buffer.from("GET /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from("\r\n\r\n")]),
      Buffer.concat([Buffer.from('POST /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 15\r\nIdempotency-Key: '), Buffer.from([0xed, 0xa0, 0x80, 0xff]), Buffer.from("\r\nAuthorization: "), token, Buffer.from('\r\n\r\n{"command":[1]}')]),
    ];
    const statuses: number[] = [];
    for (const head of cases) {
      const a = await rawRequest(head);
      statuses.push(a.status);
      expect(a.headers["x-request-id"]).toMatch(/^req_[0-9A-Z]{26}$/);
      if (a.status >= 400) expect(JSON.parse(a.body).error.request_id).toBe(a.headers["x-request-id"]);
    }
    expect(statuses).toEqual([404, 200, 401, 422]);
  });
});

describe("OpenAPI document", () => {
  it("describes the error body with request_id, 405 with Allow, 429 with Retry-After, and X-Request-Id on every operation", async () => {
    const doc = (await call("GET", "/openapi.json", { token: null })).body;
    expect(doc.components.schemas.Error.properties.error.required).toEqual(["code", "message", "details", "request_id"]);
    const submit = doc.paths["/v1/jobs"].post;
    expect(Object.keys(submit.responses)).toEqual(expect.arrayContaining(["201", "400", "405", "422", "429"]));
    expect(Object.keys(submit.responses["405"].headers)).toContain("Allow");
    expect(Object.keys(submit.responses["429"].headers)).toContain("Retry-After");
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { parameters: { $ref?: string }[]; responses: Record<string, { headers: object }> }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.parameters.map((p) => p.$ref), `${method} ${path}`).toContain("#/components/parameters/X-Request-Id");
        for (const r of Object.values(op.responses)) expect(Object.keys(r.headers), `${method} ${path}`).toContain("X-Request-Id");
      }
    }
  });

  it("lists every route of the route table with its method", async () => {
    const doc = (await call("GET", "/openapi.json", { token: null })).body;
    const missing = ROUTES.filter((r) => r.path !== "/openapi.json" && !doc.paths[r.path]?.[r.method.toLowerCase()]).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
  });
});

describe("headers", () => {
  it("no response carries the uWebSockets header", async () => {
    for (const a of [await call("GET", "/healthz", { token: null }), await call("GET", "/v1/jobs"), await call("GET", "/nothing")]) {
      expect(a.headers.get("uwebsockets")).toBeNull();
    }
  });
});

describe("unknown fields are refused with 422 unknown_field naming the field", () => {
  it("a typo such as timout_seconds is refused, not submitted with the default timeout (issue 9)", async () => {
    const err = expectError(await call("POST", "/v1/jobs", { body: { command: ["x"], timout_seconds: 5 } }), 422, "unknown_field");
    expect(err.details.field).toBe("timout_seconds");
    expect(err.message).toContain("timout_seconds");
    expect((await call("GET", "/v1/jobs")).body.items).toEqual([]);
  });

  it("at every level of every body", async () => {
    const agentId = await enrolledAgent();
    const cases: [string, string, unknown, string][] = [
      ["POST", "/v1/jobs", { command: ["x"], requirements: { gpus: 1, gpu_mem: 1 } }, "requirements.gpu_mem"],
      ["POST", "/v1/jobs", { command: ["x"], inputs: [{ key: "inputs/u/a", path: "a", size: 1 }] }, "inputs[0].size"],
      ["POST", "/v1/jobs", { command: ["x"], owner: "someone-else" }, "owner"],
      ["POST", "/v1/uploads", { name: "a.zip", size: 1, sha: "x" }, "sha"],
      ["POST", "/v1/api-tokens", { owner: "bob", rol: "admin" }, "rol"],
      ["POST", "/v1/enrollment-tokens", { ttl: 600 }, "ttl"],
      ["POST", `/v1/agents/${agentId}/pause`, { reasn: "exam" }, "reasn"],
      ["POST", `/v1/agents/${agentId}/resume`, { now: true }, "now"],
      ["PATCH", `/v1/agents/${agentId}`, { slot: 2 }, "slot"],
      ["POST", "/v1/jobs/job_00000000000000000000000000/cancel", { force: true }, "force"],
      ["DELETE", `/v1/agents/${agentId}`, { hard: true }, "hard"],
    ];
    for (const [method, path, body, field] of cases) {
      const err = expectError(await call(method, path, { body }), 422, "unknown_field");
      expect(err.details.field, `${method} ${path} ${JSON.stringify(body)}`).toBe(field);
    }
    // Nothing was applied: no job, the agent neither paused nor revoked.
    expect((await call("GET", "/v1/jobs")).body.items).toEqual([]);
    expect((await call("GET", `/v1/agents/${agentId}`)).body).toMatchObject({ paused: false, slots: 1 });
  });

  it("until is a field of a pause: a future time is taken and shown, a past one is refused naming it", async () => {
    const agentId = await enrolledAgent();
    const past = expectError(await call("POST", `/v1/agents/${agentId}/pause`, { body: { until: "2000-01-01T00:00:00Z" } }), 422, "validation_failed");
    expect(past.details.problems).toEqual([{ field: "until", reason: expect.stringContaining("in the future") }]);
    const paused = await call("POST", `/v1/agents/${agentId}/pause`, { body: { until: "2999-01-01T00:00:00Z" } });
    expect(paused.status, paused.text).toBe(202);
    expect(paused.body.pause).toEqual({ source: "api", reason: null, until: "2999-01-01T00:00:00.000Z" });
  });

  it("a body-less call takes an empty body or {}", async () => {
    const agentId = await enrolledAgent();
    expect((await call("POST", `/v1/agents/${agentId}/resume`)).status).toBe(202);
    expect((await call("POST", `/v1/agents/${agentId}/resume`, { body: {} })).status).toBe(202);
    expectError(await call("POST", `/v1/agents/${agentId}/resume`, { raw: "[1]" }), 422, "validation_failed");
    expectError(await call("POST", `/v1/agents/${agentId}/resume`, { raw: "{" }), 400, "malformed_json");
  });
});

describe("query parameters", () => {
  it("an unknown query parameter such as ?name= is refused with 400 unknown_parameter, not ignored (issue 9)", async () => {
    for (const path of ["/v1/jobs?name=x", "/v1/jobs?limit=5&stat=RUNNING", "/v1/agents?state=x", "/v1/jobs/job_00000000000000000000000000?x=1", "/healthz?verbose=1", "/v1/jobs?=x"]) {
      const err = expectError(await call("GET", path), 400, "unknown_parameter");
      expect(err.message, path).toMatch(/^Unknown query parameter "/);
    }
    const err = expectError(await call("GET", "/v1/jobs?name=x"), 400, "unknown_parameter");
    expect(err.details).toEqual({ parameter: "name" });
  });

  it("a parameter given twice is refused with 400", async () => {
    const err = expectError(await call("GET", "/v1/jobs?limit=1&limit=2"), 400, "malformed_url");
    expect(err.details).toEqual({ parameter: "limit" });
  });

  it("the documented parameters are taken", async () => {
    for (const path of ["/v1/jobs?state=PENDING&agent_id=agt_x&limit=5", "/v1/agents?limit=5"]) expect((await call("GET", path)).status, path).toBe(200);
  });
});

describe("methods", () => {
  it("a wrong method on a known path is a 405 with Allow, not a 404 (issue 9)", async () => {
    const cases: [string, string, string][] = [
      ["PUT", "/v1/jobs", "POST, GET"], ["DELETE", "/v1/jobs/job_00000000000000000000000000", "GET"],
      ["GET", "/v1/jobs/job_00000000000000000000000000/cancel", "POST"], ["POST", "/v1/agents/agt_x", "GET, PATCH, DELETE"],
      ["POST", "/healthz", "GET"], ["PATCH", "/v1/uploads", "POST"],
    ];
    for (const [method, path, allow] of cases) {
      const a = await call(method, path);
      expectError(a, 405, "method_not_allowed");
      expect(a.headers.get("allow"), `${method} ${path}`).toBe(allow);
    }
  });

  it("a trailing slash reaches the same route", async () => {
    expect((await call("GET", "/v1/jobs/")).status).toBe(200);
  });
});

describe("malformed input is a 4xx with a structured error, never a 5xx (issue 9)", () => {
  it("bad percent-encoding in a path id is 400 malformed_url", async () => {
    for (const [method, path] of [["GET", "/v1/jobs/%"], ["GET", "/v1/jobs/%E0%A4%A"], ["GET", "/v1/agents/%"], ["POST", "/v1/jobs/%ZZ/cancel"], ["GET", "/v1/jobs/%ED%A0%80/events"]] as const) {
      const err = expectError(await call(method, path), 400, "malformed_url");
      expect(err.details.segment, path).toBe(path.split("/")[3]);
    }
  });

  it("a cursor that is not ours, null included, is 422 naming the cursor", async () => {
    const bad = ["bnVsbA", "garbage", Buffer.from('{"c":"2020-01-01T00:00:00Z","i":7}').toString("base64url"),
      Buffer.from('{"c":"+275760-09-13T00:00:00.000Z","i":"job_00000000000000000000000000"}').toString("base64url"), Buffer.from("[]").toString("base64url")];
    for (const cursor of bad) {
      const err = expectError(await call("GET", `/v1/jobs?cursor=${encodeURIComponent(cursor)}`), 422, "validation_failed");
      expect(err.details, cursor).toEqual({ parameter: "cursor" });
    }
    expectError(await call("GET", "/v1/agents?cursor=bnVsbA"), 422, "validation_failed");
    const job = await call("POST", "/v1/jobs", { body: { command: ["x"] } });
    expectError(await call("GET", `/v1/jobs/${job.body.id}/outputs?cursor=bnVsbA`), 422, "validation_failed");
  });

  it("an upload name of 256 to 512 characters is 422, and 255 bytes is taken", async () => {
    for (const n of [256, 300, 512]) {
      const err = expectError(await call("POST", "/v1/uploads", { body: { name: "a".repeat(n), size: 1 } }), 422, "validation_failed");
      expect(err.details.problems, String(n)).toEqual([{ field: "name", reason: "is longer than 255 bytes in UTF-8" }]);
    }
    // 128 two-byte characters are 256 bytes: over, though 128 characters.
    expectError(await call("POST", "/v1/uploads", { body: { name: "é".repeat(128), size: 1 } }), 422, "validation_failed");
    expect((await call("POST", "/v1/uploads", { body: { name: "a".repeat(255), size: 1 } })).status).toBe(201);
  });

  it("a lone surrogate anywhere in a body is 422 naming the field", async () => {
    const cases: [string, unknown, string][] = [
      ["/v1/uploads", { name: "a\ud800b", size: 1 }, "name"],
      ["/v1/jobs", { command: ["x", "\udc00"] }, "command[1]"],
      ["/v1/jobs", { command: ["x"], env: { A: "\ud800" } }, "env.A"],
      ["/v1/jobs", { command: ["x"], name: "ok\udfff" }, "name"],
      ["/v1/jobs", { command: ["x"], ["k\ud800"]: 1 }, "k\ud800"],
    ];
    for (const [path, body, field] of cases) {
      const err = expectError(await call("POST", path, { body }), 422, "validation_failed");
      expect(err.details.problems, field).toEqual([{ field, reason: expect.stringContaining("lone surrogate") }]);
    }
    // A surrogate pair (an emoji) is a character like any other.
    expect((await call("POST", "/v1/uploads", { body: { name: "model-🚀.pt", size: 1 } })).status).toBe(201);
  });

  it("a body that is not UTF-8 is 400 malformed_json", async () => {
    expectError(await call("POST", "/v1/jobs", { raw: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }), 400, "malformed_json");
  });

  it("a limit that is not a plain whole number is 422", async () => {
    for (const q of ["limit=1e2", "limit=0x10", "limit=%201", "limit=5.0"]) expectError(await call("GET", `/v1/jobs?${q}`), 422, "validation_failed");
  });

  it("a user's token is accepted for their own calls and the ids of others stay 404", async () => {
    const bob = await userToken("bob");
    expectError(await call("GET", "/v1/jobs/%", { token: bob }), 400, "malformed_url");
    expectError(await call("GET", "/v1/jobs/job_00000000000000000000000000", { token: bob }), 404, "not_found");
  });
});
