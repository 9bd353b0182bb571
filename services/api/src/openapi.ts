// The OpenAPI document served at GET /openapi.json: the paths of ../shared/API.md, with
// the shared error body. Kept short; API.md stays the prose contract.

const error = { $ref: "#/components/schemas/Error" };
const job = { $ref: "#/components/schemas/Job" };
const json = (schema: unknown) => ({ content: { "application/json": { schema } } });
const errors = {
  400: { description: "Malformed JSON", ...json(error) },
  401: { description: "Missing or invalid token", ...json(error) },
  403: { description: "Not allowed", ...json(error) },
  404: { description: "Not found", ...json(error) },
  422: { description: "Invalid request", ...json(error) },
  503: { description: "MySQL or Redis unavailable; nothing was applied", ...json(error) },
};
const idParam = (name: string) => ({ name, in: "path", required: true, schema: { type: "string" } });

/** The OpenAPI 3.1 document. */
export const openApiDocument = {
  openapi: "3.1.0",
  info: { title: "LabBridge API", version: "1.0.0", description: "Dispatch jobs to lab GPU workstations. See API.md." },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    schemas: {
      Error: {
        type: "object",
        required: ["error"],
        properties: { error: { type: "object", required: ["code", "message", "details"], properties: { code: { type: "string" }, message: { type: "string" }, details: { type: "object" } } } },
      },
      JobSubmission: {
        type: "object",
        required: ["command"],
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
        parameters: ["state", "agent_id", "limit", "cursor"].map((name) => ({ name, in: "query", schema: { type: "string" } })),
        responses: { 200: { description: "A page of jobs" }, ...errors },
      },
    },
    "/v1/jobs/{id}": { get: { summary: "Get a job", parameters: [idParam("id")], responses: { 200: { description: "The job", ...json(job) }, ...errors } } },
    "/v1/jobs/{id}/cancel": { post: { summary: "Cancel a job", parameters: [idParam("id")], responses: { 202: { description: "Cancel accepted", ...json(job) }, 409: { description: "Already finished", ...json(error) }, ...errors } } },
    "/v1/jobs/{id}/events": {
      get: {
        summary: "Server-Sent Events: a `job` snapshot, then `state`, `progress` and `log` events until the job ends",
        description: "`log` events carry one live line each, `{job_id, attempt_id, stream: \"stdout\" | \"stderr\", line, at}`, " +
          "rate-limited at the agent (a run of lines it left out comes as one line `… N lines skipped`); best effort: the full logs are at /v1/jobs/{id}/logs",
        parameters: [idParam("id")],
        responses: { 200: { description: "text/event-stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...errors },
      },
    },
    "/v1/jobs/{id}/outputs": { get: { summary: "Outputs with presigned GET URLs (all at once, or pages by path with limit/cursor)", parameters: [idParam("id"), ...["limit", "cursor"].map((name) => ({ name, in: "query", schema: { type: "string" } }))], responses: { 200: { description: "Outputs" }, ...errors } } },
    "/v1/uploads": { post: { summary: "Presigned PUT for an input", responses: { 201: { description: "Upload URL" }, ...errors } } },
    "/v1/agents": { get: { summary: "List agents", responses: { 200: { description: "A page of agents" }, ...errors } } },
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
    "/v1/agents/{id}/pause": { post: { summary: "Pause an agent (admin)", parameters: [idParam("id")], responses: { 202: { description: "Paused" }, ...errors } } },
    "/v1/agents/{id}/resume": { post: { summary: "Resume an agent (admin)", parameters: [idParam("id")], responses: { 202: { description: "Resumed" }, ...errors } } },
    "/v1/enrollment-tokens": { post: { summary: "One-use enrollment token (admin)", responses: { 201: { description: "Token" }, ...errors } } },
    "/v1/api-tokens": { post: { summary: "API token for a user (admin)", responses: { 201: { description: "Token" }, ...errors } } },
    "/healthz": { get: { security: [], summary: "Process up", responses: { 200: { description: "OK" } } } },
    "/readyz": { get: { security: [], summary: "Redis and MySQL reachable", responses: { 200: { description: "Ready" }, 503: { description: "Not ready" } } } },
    "/metrics": { get: { security: [], summary: "Prometheus metrics", responses: { 200: { description: "Metrics" } } } },
  },
} as const;
