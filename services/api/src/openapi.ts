// The OpenAPI document served at GET /openapi.json: the paths of ../shared/API.md, with
// the shared error body. Kept short; API.md stays the prose contract.

const error = { $ref: "#/components/schemas/Error" };
const job = { $ref: "#/components/schemas/Job" };
const json = (schema: unknown) => ({ content: { "application/json": { schema } } });
const requestIdHeader = { "X-Request-Id": { $ref: "#/components/headers/X-Request-Id" } };
const problem = (description: string, headers: Record<string, unknown> = {}) => ({ description, headers: { ...requestIdHeader, ...headers }, ...json(error) });
const errors = {
  400: problem("Malformed JSON (malformed_json), bad percent-encoding (malformed_url) or an unknown query parameter (unknown_parameter)"),
  401: problem("Missing or invalid token"),
  403: problem("Not allowed"),
  404: problem("Not found"),
  405: problem("The path is known, the method is not (method_not_allowed)", { Allow: { description: "The methods the path takes", schema: { type: "string" } } }),
  413: problem("Body over 64 KiB"),
  422: problem("Invalid request (validation_failed), or a body field the endpoint does not know (unknown_field, named in details.field)"),
  429: problem("Too many requests from this principal or address, or too many open event streams (rate_limited)", { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } }),
  503: problem("MySQL or Redis unavailable; nothing was applied", { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } }),
};
const idParam = (name: string) => ({ name, in: "path", required: true, schema: { type: "string" } });
const queryParams = (...names: string[]) => names.map((name) => ({ name, in: "query", schema: { type: "string" } }));

type Operation = { parameters?: unknown[]; responses: Record<string, { headers?: Record<string, unknown> }> };

// Every operation takes an X-Request-Id and every response carries one (API.md "Conventions"):
// added here once rather than written into each path.
function withRequestIds<T extends { paths: Record<string, Record<string, unknown>> }>(doc: T): T {
  for (const ops of Object.values(doc.paths)) {
    for (const op of Object.values(ops) as Operation[]) {
      op.parameters = [...(op.parameters ?? []), { $ref: "#/components/parameters/X-Request-Id" }];
      for (const r of Object.values(op.responses)) r.headers = { ...requestIdHeader, ...r.headers };
    }
  }
  return doc;
}

/** The OpenAPI 3.1 document. */
export const openApiDocument = withRequestIds({
  openapi: "3.1.0",
  info: { title: "LabBridge API", version: "1.0.0", description: "Dispatch jobs to lab GPU workstations. See API.md." },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    parameters: {
      "X-Request-Id": {
        name: "X-Request-Id", in: "header", required: false,
        description: "Your id for this request (1 to 64 of A-Z a-z 0-9 . _ : -); any other value is replaced by a new one",
        schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,64}$" },
      },
    },
    headers: {
      "X-Request-Id": { description: "The request's id: yours when sane, else a new req_… id; in every log line of the request", schema: { type: "string" } },
    },
    schemas: {
      Error: {
        type: "object",
        required: ["error"],
        additionalProperties: false,
        properties: {
          error: {
            type: "object",
            required: ["code", "message", "details", "request_id"],
            additionalProperties: false,
            properties: {
              code: { type: "string" }, message: { type: "string" }, details: { type: "object" },
              request_id: { type: "string", description: "Equal to the X-Request-Id response header" },
            },
          },
        },
      },
      JobSubmission: {
        type: "object",
        required: ["command"],
        additionalProperties: false,
        description: "A field not listed here is refused with 422 unknown_field",
        properties: {
          name: { type: "string" },
          command: { type: "array", items: { type: "string" }, minItems: 1 },
          env: {
            type: "object",
            additionalProperties: { type: "string" },
            description: "Variable names, no LB_ prefix in any case (the agent sets LB_*); no NUL in values",
          },
          inputs: {
            type: "array",
            items: {
              type: "object",
              required: ["key", "path"],
              additionalProperties: false,
              properties: {
                key: { type: "string" },
                path: { type: "string", description: "Relative, forward slashes, no '..'; safe on Windows too: no device names (nul.txt), no ':', no trailing dot or space" },
              },
            },
          },
          requirements: {
            type: "object",
            additionalProperties: false,
            description: "An unknown key is refused with 422 unknown_field",
            properties: {
              os: { type: "string", description: "windows, linux or macos, in any case (darwin reads as macos); stored lowercase" },
              labels: { type: "object", additionalProperties: { type: "string" } },
              gpus: { type: "integer", minimum: 0, maximum: 16, description: "Whole GPUs the job gets to itself" },
              gpu_memory_mb: { type: "integer", minimum: 1, description: "Least memory of each of its GPUs (needs gpus of at least 1)" },
              gpu_name: { type: "string", minLength: 1, maxLength: 128, description: "Case-insensitive substring of each of its GPUs' name (needs gpus of at least 1)" },
            },
          },
          timeout_seconds: { type: "integer", minimum: 1 },
          max_attempts: { type: "integer", minimum: 1, default: 1 },
          priority: { type: "integer", minimum: -10, maximum: 10, default: 0, description: "Orders one owner's own jobs; owners share fairly" },
        },
      },
      Job: {
        type: "object",
        properties: {
          id: { type: "string" }, name: { type: ["string", "null"] },
          state: { enum: ["PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"] },
          command: { type: "array", items: { type: "string" } }, attempts: { type: "array" }, outputs: { type: "array" }, history: { type: "array" },
          priority: { type: "integer" },
          queue: {
            type: ["object", "null"],
            description: "Set while PENDING: the place in the queue (1 = next) and why the job waits",
            properties: {
              position: { type: "integer", minimum: 1 },
              reason: { enum: ["no_agent_matches", "no_agent_online", "agents_paused", "agents_busy", "waiting_for_fair_share"] },
              message: { type: "string" },
            },
          },
        },
      },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    "/v1/jobs": {
      post: {
        summary: "Submit a job",
        parameters: [{ name: "Idempotency-Key", in: "header", schema: { type: "string" } }],
        requestBody: { required: true, ...json({ $ref: "#/components/schemas/JobSubmission" }) },
        responses: { 201: { description: "Created", ...json(job) }, 200: { description: "Replay of an idempotent create", ...json(job) }, ...errors },
      },
      get: {
        summary: "List jobs",
        parameters: queryParams("state", "agent_id", "limit", "cursor"),
        responses: { 200: { description: "A page of jobs" }, ...errors },
      },
    },
    "/v1/jobs/{id}": { get: { summary: "Get a job", parameters: [idParam("id")], responses: { 200: { description: "The job", ...json(job) }, ...errors } } },
    "/v1/jobs/{id}/cancel": { post: { summary: "Cancel a job", parameters: [idParam("id")], responses: { 202: { description: "Cancel accepted", ...json(job) }, 409: { description: "Already finished", ...json(error) }, ...errors } } },
    "/v1/jobs/{id}/events": {
      get: {
        summary: "Server-Sent Events: a `job` snapshot, then `state` and `progress` events until the job ends; a user holds a limited number open at once (429 past it)",
        parameters: [idParam("id")],
        responses: { 200: { description: "text/event-stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...errors },
      },
    },
    "/v1/jobs/{id}/outputs": { get: { summary: "Outputs with presigned GET URLs (all at once, or pages by path with limit/cursor)", parameters: [idParam("id"), ...queryParams("limit", "cursor")], responses: { 200: { description: "Outputs" }, ...errors } } },
    "/v1/uploads": {
      post: {
        summary: "Presigned PUT for an input",
        requestBody: {
          required: true,
          ...json({
            type: "object", required: ["name", "size"], additionalProperties: false,
            properties: { name: { type: "string", description: "One file name of at most 255 bytes in UTF-8" }, size: { type: "integer", minimum: 0 }, sha256: { type: "string", pattern: "^[0-9a-f]{64}$" } },
          }),
        },
        responses: { 201: { description: "Upload URL" }, ...errors },
      },
    },
    "/v1/agents": { get: { summary: "List agents", parameters: queryParams("limit", "cursor"), responses: { 200: { description: "A page of agents" }, ...errors } } },
    "/v1/agents/{id}": {
      get: { summary: "Get an agent", parameters: [idParam("id")], responses: { 200: { description: "The agent" }, ...errors } },
      patch: {
        summary: "Change an agent's slots or labels (admin); audited as agent.patched, and the scheduler looks for work it now fits",
        parameters: [idParam("id")],
        requestBody: {
          required: true,
          ...json({
            type: "object",
            additionalProperties: false,
            minProperties: 1,
            properties: {
              slots: { type: "integer", minimum: 1, maximum: 64 },
              labels: { type: "object", maxProperties: 64, additionalProperties: { type: "string", maxLength: 128 }, description: "Replaces every label; keys are letters, digits, _ . / -" },
            },
          }),
        },
        responses: { 200: { description: "The agent as changed" }, ...errors },
      },
      delete: { summary: "Revoke an agent (admin)", parameters: [idParam("id")], responses: { 204: { description: "Revoked" }, ...errors } },
    },
    "/v1/agents/{id}/pause": {
      post: {
        summary: "Pause an agent (admin)",
        parameters: [idParam("id")],
        requestBody: { required: false, ...json({ type: "object", additionalProperties: false, properties: { reason: { type: "string", maxLength: 500 }, stop_running: { type: "boolean" } } }) },
        responses: { 202: { description: "Paused" }, ...errors },
      },
    },
    "/v1/agents/{id}/resume": { post: { summary: "Resume an agent (admin)", parameters: [idParam("id")], responses: { 202: { description: "Resumed" }, ...errors } } },
    "/v1/enrollment-tokens": {
      post: {
        summary: "One-use enrollment token (admin)",
        requestBody: { required: false, ...json({ type: "object", additionalProperties: false, properties: { ttl_seconds: { type: "integer", minimum: 60 }, labels: { type: "object", additionalProperties: { type: "string" } } } }) },
        responses: { 201: { description: "Token" }, ...errors },
      },
    },
    "/v1/api-tokens": { post: { summary: "API token for a user (admin)", responses: { 201: { description: "Token" }, ...errors } } },
    "/healthz": { get: { security: [], summary: "Process up", responses: { 200: { description: "OK" } } } },
    "/readyz": { get: { security: [], summary: "Redis and MySQL reachable", responses: { 200: { description: "Ready" }, 503: { description: "Not ready" } } } },
    "/metrics": { get: { security: [], summary: "Prometheus metrics", responses: { 200: { description: "Metrics" } } } },
  },
});
