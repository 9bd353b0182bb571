// Generated bad requests for the API fuzz test (fast-check): every route of the route table
// with every method, ids that are real, random, huge or badly percent-encoded, random query
// parameters, bad JSON, valid bodies with one field broken (wrong type, odd string, huge or
// tiny number, unknown key), lone surrogates, and headers a client may send wrong.
import fc from "fast-check";

/** The methods uWS's HTTP parser knows: it closes the connection, answering nothing, on any other. */
export const PARSED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
/** Past about this much request line, uWS's parser resets the connection, answering nothing. */
export const PARSER_URL_LIMIT = 60_000;

/** One request to send. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Ids the fuzz test made for real, so some requests reach the handlers' deeper checks. */
export interface FuzzIds {
  jobId: string;
  agentId: string;
  userToken: string;
  adminToken: string;
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const oddChar = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: loneSurrogate },
  { weight: 1, arbitrary: fc.constantFrom("\u0000", "\n", "/", "\\", "..", "%", "\u202e", "\ufeff", "🚀", "C:", "nul", "\"", "{", "'") },
);
// Lengths on either side of every limit a column or a check has (64, 128, 200, 255, 512, …).
const boundaryString = fc.tuple(fc.constantFrom(0, 1, 63, 64, 65, 127, 128, 129, 199, 200, 201, 254, 255, 256, 300, 511, 512, 513, 701, 1024), fc.constantFrom("x", "é", "🚀"))
  .map(([n, c]) => c.repeat(n));
/** Strings as a careless or hostile client sends them. */
const oddString = fc.oneof(
  { weight: 4, arbitrary: boundaryString },
  { weight: 5, arbitrary: fc.string({ unit: oddChar, maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 3, arbitrary: fc.constantFrom("", " ", "x".repeat(256), "x".repeat(300), "x".repeat(513), "é".repeat(200), "a/../b", "/etc/passwd", "inputs/upl_x/a", "nul.txt", "a:b") },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }).map((n) => "y".repeat(n)) },
);
const oddNumber = fc.oneof(
  fc.integer(), fc.double(), fc.constantFrom(0, -0, -1, 1.5, 2 ** 31, 2 ** 53 + 1, 1e308, -1e308, 5e-324, 86_400 * 31, 1 << 24),
);
/** Any JSON-ish value: what a wrong-typed field holds. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: oddString }, { weight: 2, arbitrary: oddNumber }, fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }),
  fc.array(oddString, { maxLength: 4 }), fc.dictionary(oddString, oddString, { maxKeys: 4 }),
);

// Valid bodies of each writing route, to break one field at a time.
const VALID_BODIES: Record<string, Record<string, unknown>> = {
  "POST /v1/jobs": {
    name: "n", command: ["python", "train.py"], env: { A: "1" }, inputs: [{ key: "inputs/upl_x/a.zip", path: "a.zip" }],
    requirements: { os: "linux", labels: { gpu: "rtx4090" }, gpus: 1, gpu_memory_mb: 1000, gpu_name: "4090" },
    timeout_seconds: 60, max_attempts: 1, priority: 0,
  },
  "POST /v1/uploads": { name: "data.zip", size: 10, sha256: "a".repeat(64) },
  "POST /v1/api-tokens": { owner: "fuzz-user", role: "user" },
  "POST /v1/enrollment-tokens": { ttl_seconds: 600, labels: { lab: "b201" } },
  "PATCH /v1/agents/{id}": { slots: 2, labels: { lab: "b202" } },
  "POST /v1/agents/{id}/pause": { reason: "fuzz", stop_running: false },
};

function setAt(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(obj);
  let at: Record<string, unknown> = copy;
  for (const k of path.slice(0, -1)) at = (at[k] ?? (at[k] = {})) as Record<string, unknown>;
  if (value === undefined) delete at[path.at(-1)!];
  else at[path.at(-1)!] = value;
  return copy;
}

function fieldPaths(obj: unknown, prefix: string[] = []): string[][] {
  if (typeof obj !== "object" || obj === null) return [prefix];
  const out: string[][] = prefix.length ? [prefix] : [];
  for (const [k, v] of Object.entries(obj)) out.push(...fieldPaths(v, [...prefix, k]));
  return out;
}

/** A body for a route: a valid one with one field broken, bad JSON, or any JSON at all. */
function bodyFor(routeKey: string): fc.Arbitrary<string | undefined> {
  const valid = VALID_BODIES[routeKey];
  const broken = valid
    ? fc.tuple(fc.constantFrom(...fieldPaths(valid)), fc.oneof({ weight: 3, arbitrary: boundaryString }, { weight: 3, arbitrary: oddValue }, { weight: 1, arbitrary: fc.constant(undefined) }), fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: oddString }), oddValue)
        .map(([path, value, extraKey, extraValue]) => {
          const body = setAt(valid, path, value);
          if (extraKey !== undefined) setAt(body, path.length > 1 ? [...path.slice(0, -1), extraKey] : [extraKey], extraValue);
          return JSON.stringify(body);
        })
    : fc.constant("{}");
  return fc.oneof(
    { weight: 6, arbitrary: broken },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.string({ unit: oddChar, maxLength: 40 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "", "{", "[]", "null", '{"size": 1e400}', '{"command": ["x"], "command": 5}', '{"__proto__": {"x": 1}}', '"\\ud800"',
        "[".repeat(5000) + "]".repeat(5000), `{"a":"${"z".repeat(70_000)}"}`,
      ),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

const badEncoding = fc.constantFrom("%", "%ZZ", "%E0%A4%A", "%ED%A0%80", "%C0%AF", "%FF", "%00", "%2F", "%25", "a%", "%%30");
/** A value for an id in a path. */
function idSegment(ids: FuzzIds): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(ids.jobId, ids.agentId, "job_00000000000000000000000000", "agt_00000000000000000000000000") },
    { weight: 3, arbitrary: badEncoding },
    { weight: 3, arbitrary: oddString.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "x")) || "x") },
    { weight: 1, arbitrary: fc.constantFrom("x".repeat(5000), "..", ".", "job_" + "Z".repeat(26)) },
  );
}

const QUERY_NAMES = ["limit", "cursor", "state", "agent_id", "owner", "name", "name_prefix", "token", "x", ""];
const cursorValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v)).toString("base64url")),
  fc.record({ c: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), oddString), i: oddString })
    .map((v) => Buffer.from(JSON.stringify(v)).toString("base64url")),
  fc.record({ p: oddString }).map((v) => Buffer.from(JSON.stringify(v)).toString("base64url")),
  fc.constantFrom("bnVsbA", "garbage", "", "=", "A"),
);
const queryValue = fc.oneof(oddNumber.map(String), oddString.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "x"))), cursorValue, badEncoding);
// Most requests carry no query, so what is wrong with their path or body is what answers.
const query = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom(...QUERY_NAMES), queryValue), { minLength: 1, maxLength: 4 }).map((pairs) => "?" + pairs.map(([k, v]) => `${k}=${v}`).join("&")) },
);

// undici's fetch refuses CONNECT, TRACE and TRACK and any method that is not a token.
const method = fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...PARSED_METHODS) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/).filter((m) => !["CONNECT", "TRACE", "TRACK"].includes(m)) });

// fetch sends only header values of printable ASCII (api_contract.test.ts sends other bytes
// over a raw socket).
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 }).map((s) => s.trim());

/** Every request the fuzz test may send, for routes shaped as `METHOD /path/{id}`. */
export function fuzzRequest(routes: { method: string; path: string }[], ids: FuzzIds): fc.Arbitrary<FuzzRequest> {
  const templates = [...new Set(routes.map((r) => r.path)), "/v1/nothing", "/", "//v1//jobs", "/v1/jobs/x/y/z"];
  // Half the requests aim at a route that takes a body, with its own method, so broken
  // bodies reach the checks behind the router; the rest go anywhere with any method.
  const target = fc.oneof(
    fc.constantFrom(...Object.keys(VALID_BODIES)).map((k) => [...k.split(" "), true] as [string, string, boolean]),
    fc.tuple(method, fc.constantFrom(...templates), fc.constant(false)),
  );
  return fc.record({
    target,
    id: idSegment(ids),
    query,
    trailingSlash: fc.boolean(),
    token: fc.oneof({ weight: 5, arbitrary: fc.constant(ids.adminToken) }, { weight: 2, arbitrary: fc.constant(ids.userToken) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: headerValue }),
    requestId: fc.option(headerValue, { nil: undefined }),
    idempotencyKey: fc.option(headerValue, { nil: undefined }),
  }).chain(({ target: [method, template, aimed], ...r }) => {
    const routeKey = `${method} ${template}`;
    const withBody = method !== "GET" && method !== "HEAD";
    return (withBody ? bodyFor(routeKey in VALID_BODIES ? routeKey : "POST /v1/jobs") : fc.constant(undefined)).map((body) => {
      // A request aimed at a body check has a real id and no query in its way.
      const path = aimed ? template.replace(/\{[a-z_]+\}/g, ids.agentId) : template.replace(/\{[a-z_]+\}/g, r.id) + (r.trailingSlash ? "/" : "") + r.query;
      const headers: Record<string, string> = {};
      if (r.token !== null) headers.authorization = r.token === ids.adminToken || r.token === ids.userToken ? `Bearer ${r.token}` : r.token;
      if (r.requestId !== undefined) headers["x-request-id"] = r.requestId;
      if (r.idempotencyKey !== undefined) headers["idempotency-key"] = r.idempotencyKey;
      if (body !== undefined) headers["content-type"] = "application/json";
      return { method, path, headers, body };
    });
  });
}
