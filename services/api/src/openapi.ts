// The OpenAPI document served at GET /openapi.json: the paths of ../shared/API.md, with
// the shared error body. Kept short; API.md stays the prose contract.

const error = { $ref: "#/components/schemas/Error" };
const job = { $ref: "#/components/schemas/Job" };
const json = (schema: unknown) => ({ content: { "application/json": { schema } } });
const requestIdHeader = { "X-Request-Id": { $ref: "#/components/headers/X-Request-Id" } };
const problem = (description: string, headers: Record<string, unknown> = {}) => ({ description, headers: { ...requestIdHeader, ...headers }, ...json(error) });
const errors = {
  400: problem("Malformed JSON (malformed_json), bad percent-encoding (malformed_url) or an unknown query parameter (unknown_parameter)"),
  401: problem("Missing, invalid, revoked (invalid_token) or expired (token_expired) token"),
  403: problem("Not allowed"),
  404: problem("Not found"),
  405: problem("The path is known, the method is not (method_not_allowed)", { Allow: { description: "The methods the path takes", schema: { type: "string" } } }),
  413: problem("Body over 64 KiB"),
  422: problem("Invalid request (validation_failed), or a body field the endpoint does not know (unknown_field, named in details.field)"),
  429: problem("Too many requests from this principal or address, or too many open event streams (rate_limited)", { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } }),
  503: problem("MySQL or Redis unavailable; nothing was applied", { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } }),
};
const idParam = (name: string) => ({ name, in: "path", required: true, schema: { type: "string" } });
const dashboardFile = { 200: { description: "The file (gzip when accepted)" }, 304: { description: "Not modified (If-None-Match)" }, 404: problem("No such file, or the dashboard is not built") };
const query = (name: string, description: string, schema: Record<string, unknown> = { type: "string" }) => ({ name, in: "query", schema, description });
const page = [query("limit", "1 to 500, default 50", { type: "integer", minimum: 1, maximum: 500 }), query("cursor", "next_cursor of the page before; opaque")];
const listOf = (items: unknown) => json({ type: "object", properties: { items: { type: "array", items }, next_cursor: { type: ["string", "null"] } } });

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
      ApiToken: {
        type: "object",
        description: "A minted token as lists show it: never the secret",
        properties: {
          id: { type: "string" }, owner: { type: "string" }, role: { enum: ["user", "admin"] }, name: { type: "string" },
          created_at: { type: "string", format: "date-time" }, created_by: { type: ["string", "null"] },
          expires_at: { type: ["string", "null"], format: "date-time", description: "null only for tokens made before expiries existed" },
        },
      },
      AuditRow: {
        type: "object",
        properties: {
          at: { type: "string", format: "date-time" }, actor: { type: "string", description: "owner, agent id, or unknown" },
          role: { enum: ["admin", "user", "agent", "anonymous"] }, action: { type: "string", description: "e.g. api_token.created, agent.paused, job.cancel_requested" },
          target_type: { type: "string" }, target_id: { type: ["string", "null"] },
          result: { type: "string", description: "ok, or refused (a 403), or what the gateway found (unknown, revoked)" },
          request_id: { type: ["string", "null"] }, details: { type: "object" },
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
        summary: "List jobs, newest first. A user sees only their own jobs; owner= naming another owner is 403 forbidden for a user (naming themselves is allowed); an admin sees all, or one owner's",
        parameters: [
          query("state", "One of the job states", { enum: ["PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"] }),
          query("agent_id", "Jobs with an attempt on this agent"),
          query("owner", "Jobs of this owner (admin; a user may name only themselves)"),
          query("name_prefix", "Jobs whose name starts with this text, taken literally (% and _ included); at most 200 characters"),
          ...page,
        ],
        responses: { 200: { description: "A page of jobs", ...listOf(job) }, ...errors },
      },
    },
    "/v1/jobs/{id}": { get: { summary: "Get a job", parameters: [idParam("id")], responses: { 200: { description: "The job", ...json(job) }, ...errors } } },
    "/v1/jobs/{id}/cancel": { post: { summary: "Cancel a job (an admin canceling another owner's job is audited as job.cancel_requested)", parameters: [idParam("id")], responses: { 202: { description: "Cancel accepted", ...json(job) }, 409: { description: "Already finished", ...json(error) }, ...errors } } },
    "/v1/jobs/{id}/events": {
      get: {
        summary: "Server-Sent Events: a `job` snapshot, then `state`, `progress` and `log` events until the job ends; a user holds a limited number open at once (429 past it)",
        description: "`log` events carry one live line each, `{job_id, attempt_id, stream: \"stdout\" | \"stderr\", line, at}`, " +
          "rate-limited at the agent (a run of lines it left out comes as one line `… N lines skipped`); best effort: the full logs are at /v1/jobs/{id}/logs",
        parameters: [idParam("id")],
        responses: { 200: { description: "text/event-stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...errors },
      },
    },
    "/v1/jobs/{id}/outputs": { get: { summary: "Outputs with presigned GET URLs (all at once, or pages by path with limit/cursor)", parameters: [idParam("id"), ...page], responses: { 200: { description: "Outputs" }, ...errors } } },
    "/v1/jobs/{id}/logs": {
      get: {
        summary: "Presigned GETs of each attempt's full stdout and stderr, latest attempt first; a log the store does not hold is left out; the bytes never pass through the API",
        parameters: [idParam("id")],
        responses: {
          200: {
            description: "Logs",
            ...json({
              type: "object",
              properties: {
                items: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      attempt_id: { type: "string" }, stream: { enum: ["stdout", "stderr"] }, key: { type: "string", description: "jobs/<job>/<attempt>/logs/<stream>.log" },
                      size: { type: "integer" }, url: { type: "string" }, expires_at: { type: "string", format: "date-time" },
                    },
                  },
                },
              },
            }),
          },
          ...errors,
          503: { description: "The object store, MySQL or Redis could not be reached", ...json(error) },
        },
      },
    },
    "/v1/uploads": {
      post: {
        summary: "Where an input goes: one presigned PUT (send exactly `headers`), or above the part size a multipart plan (part PUTs with `headers`, then `complete` with a CompleteMultipartUpload XML body)",
        requestBody: {
          required: true,
          ...json({
            type: "object", required: ["name", "size"], additionalProperties: false,
            properties: { name: { type: "string", description: "One file name of at most 255 bytes in UTF-8" }, size: { type: "integer", minimum: 0 }, sha256: { type: "string", pattern: "^[0-9a-f]{64}$" } },
          }),
        },
        responses: { 201: { description: "Upload plan" }, ...errors },
      },
    },
    "/v1/uploads/{id}": {
      get: {
        summary: "An upload's state: the parts the store already holds (`held`) and fresh URLs for the rest, so an interrupted upload resumes",
        parameters: [idParam("id")],
        responses: { 200: { description: "Upload state" }, ...errors },
      },
    },
    "/v1/agents": { get: { summary: "List agents", parameters: page, responses: { 200: { description: "A page of agents" }, ...errors } } },
    "/v1/agents/{id}": {
      get: {
        summary: "Get an agent; `pause` says who paused it: {source: api | local | user_active | gpu_busy, reason, until} or null (the API's pause first)",
        parameters: [idParam("id")],
        responses: { 200: { description: "The agent" }, ...errors },
      },
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
      delete: { summary: "Revoke an agent (admin); audited as agent.revoked", parameters: [idParam("id")], responses: { 204: { description: "Revoked" }, ...errors } },
    },
    "/v1/agents/{id}/pause": {
      post: {
        summary: "Pause an agent (admin; source api): no new work until resumed or until `until`; stop_running also cancels its running jobs; audited as agent.paused",
        parameters: [idParam("id")],
        requestBody: {
          required: false,
          ...json({
            type: "object",
            additionalProperties: false,
            properties: {
              reason: { type: ["string", "null"], maxLength: 500 },
              stop_running: { type: "boolean" },
              until: { type: ["string", "null"], format: "date-time", description: "When the pause ends by itself (in the future); null: until resumed" },
            },
          }),
        },
        responses: { 202: { description: "Paused" }, ...errors },
      },
    },
    "/v1/agents/{id}/resume": {
      post: {
        summary: "Lift the API's pause (admin; audited as agent.resumed); a pause the agent holds by itself (its owner's, or yielding to the workstation's user) stays",
        parameters: [idParam("id")],
        responses: { 202: { description: "Resumed" }, ...errors },
      },
    },
    "/v1/enrollment-tokens": {
      post: {
        summary: "One-use enrollment token (admin); audited as enrollment_token.created, and its use as enrollment_token.used",
        requestBody: { required: false, ...json({ type: "object", additionalProperties: false, properties: { ttl_seconds: { type: "integer", minimum: 60 }, labels: { type: "object", additionalProperties: { type: "string" } } } }) },
        responses: { 201: { description: "Token" }, ...errors },
      },
    },
    "/v1/api-tokens": {
      post: {
        summary: "Mint an API token (admin); the token is shown once and audited as api_token.created",
        requestBody: {
          required: true,
          ...json({
            type: "object",
            additionalProperties: false,
            required: ["owner"],
            properties: {
              owner: { type: "string", pattern: "^[A-Za-z0-9_.@-]{1,64}$", description: "Not admin in any case: that owner is LB_ADMIN_TOKEN's (422 reserved_owner)" },
              role: { enum: ["user", "admin"], default: "user" },
              name: { type: "string", maxLength: 128, default: "" },
              ttl_seconds: { type: "integer", minimum: 60, maximum: 31_622_400, default: 7_776_000 },
            },
          }),
        },
        responses: {
          201: {
            description: "Token",
            ...json({ type: "object", properties: { id: { type: "string" }, token: { type: "string" }, owner: { type: "string" }, role: { type: "string" }, name: { type: "string" }, expires_at: { type: "string", format: "date-time" } } }),
          },
          ...errors,
        },
      },
      get: {
        summary: "Live API tokens (expired ones included, revoked ones not), by id: an admin sees all (or one owner's), a user their own; never a secret",
        parameters: [query("owner", "Tokens of this owner (admin; a user may name only themselves)"), ...page],
        responses: { 200: { description: "A page of tokens", ...listOf({ $ref: "#/components/schemas/ApiToken" }) }, ...errors },
      },
    },
    "/v1/api-tokens/{id}": {
      delete: {
        summary: "Revoke a token at once (admin: any; a user: their own, another's is 404); audited as api_token.revoked; revoking again is a 204 that records nothing",
        parameters: [idParam("id")],
        responses: { 204: { description: "Revoked" }, ...errors },
      },
    },
    "/v1/me": {
      get: {
        summary: "Who the token is",
        responses: {
          200: { description: "The caller", ...json({ type: "object", properties: { owner: { type: "string" }, role: { enum: ["user", "admin"] }, token_id: { type: ["string", "null"], description: "null for LB_ADMIN_TOKEN" } } }) },
          ...errors,
        },
      },
    },
    "/v1/audit": {
      get: {
        summary: "The audit trail, newest first (admin; a user's try is 403 and is itself audited as audit.read refused)",
        parameters: [
          query("action", "e.g. api_token.revoked"), query("actor", "owner or agent id"), query("target_type", "e.g. agent, api_token, job"),
          query("target_id", "id of the target"), query("result", "ok, refused, …"),
          query("from", "Rows at or after this RFC 3339 time", { type: "string", format: "date-time" }),
          query("to", "Rows before this RFC 3339 time", { type: "string", format: "date-time" }),
          ...page,
        ],
        responses: { 200: { description: "A page of audit rows", ...listOf({ $ref: "#/components/schemas/AuditRow" }) }, ...errors },
      },
    },
    "/v1/usage": {
      get: {
        summary: "GPU-hours and wall-hours of attempts in [from, to), per owner or per agent, largest GPU use first. Attempts count from start to end (a running one up to now), clipped to the range, times the GPUs they held (their agent's GPUs where they recorded none). A user sees only their own; owner= naming another owner is 403",
        parameters: [
          query("from", "RFC 3339; default: 30 days before to", { type: "string", format: "date-time" }),
          query("to", "RFC 3339; default: now", { type: "string", format: "date-time" }),
          query("group_by", "owner (default) or agent", { enum: ["owner", "agent"] }),
          query("owner", "Only this owner's attempts (admin; a user may name only themselves)"),
        ],
        responses: {
          200: {
            description: "Usage",
            ...json({
              type: "object",
              properties: {
                from: { type: "string", format: "date-time" }, to: { type: "string", format: "date-time" }, group_by: { enum: ["owner", "agent"] },
                items: {
                  type: "array",
                  items: {
                    type: "object",
                    description: "owner or agent_id by group_by; hours to 6 decimals",
                    properties: { owner: { type: "string" }, agent_id: { type: "string" }, attempts: { type: "integer" }, gpu_hours: { type: "number" }, wall_hours: { type: "number" } },
                  },
                },
              },
            }),
          },
          ...errors,
        },
      },
    },
    // The dashboard's files (docs/decisions/0024): public, cached by ETag; 404 when web/dist was not built.
    "/": { get: { security: [], summary: "The dashboard page (index.html)", responses: dashboardFile } },
    "/index.html": { get: { security: [], summary: "The dashboard page", responses: dashboardFile } },
    "/assets/{name}": { get: { security: [], summary: "A hashed script, style or image of the dashboard", parameters: [idParam("name")], responses: dashboardFile } },
    "/healthz": { get: { security: [], summary: "Process up", responses: { 200: { description: "OK" } } } },
    "/readyz": { get: { security: [], summary: "Redis and MySQL reachable", responses: { 200: { description: "Ready" }, 503: { description: "Not ready" } } } },
    "/metrics": { get: { security: [], summary: "Prometheus metrics", responses: { 200: { description: "Metrics" } } } },
  },
});
