// Error codes, in one place: the HTTP API, the WebSocket protocol and attempt failures
// all use these, and one function maps each to its HTTP status and message.

/** Every error code LabBridge sends to a client or an agent. */
export const ERROR_CODES = {
  malformed_json: 400,
  malformed_url: 400,
  unknown_parameter: 400,
  validation_failed: 422,
  unknown_field: 422,
  unauthenticated: 401,
  invalid_token: 401,
  token_expired: 401,
  forbidden: 403,
  reserved_owner: 422,
  not_found: 404,
  method_not_allowed: 405,
  job_already_finished: 409,
  idempotency_key_reused: 422,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
  // Attempt-level causes, reported by agents and the reaper.
  lease_lost: 409,
  lease_expired: 409,
  timeout: 408,
  spawn_failed: 422,
  exit_nonzero: 422,
  input_download_failed: 502,
  output_upload_failed: 502,
  agent_restarted: 409,
  agent_stopped: 409,
  canceled: 409,
  /** The agent is paused (its owner, or yielding to the workstation's user) and runs nothing new. */
  agent_paused: 409,
  /** The agent stopped a running job to give the workstation back to its user (policy stop_running). */
  yielded_to_owner: 409,
} as const;

/** One of the error codes. */
export type ErrorCode = keyof typeof ERROR_CODES;

const DEFAULT_MESSAGES: Record<ErrorCode, string> = {
  malformed_json: "Request body is not valid JSON",
  malformed_url: "Request URL is not valid",
  unknown_parameter: "Request has a query parameter the endpoint does not know",
  validation_failed: "Request is not valid",
  unknown_field: "Request has a field the endpoint does not know",
  unauthenticated: "Missing bearer token",
  invalid_token: "Token is not valid",
  token_expired: "Token has expired",
  forbidden: "Not allowed",
  reserved_owner: "Owner is reserved for LB_ADMIN_TOKEN",
  not_found: "Not found",
  method_not_allowed: "Method is not allowed on this path",
  job_already_finished: "Job has already finished",
  idempotency_key_reused: "Idempotency key was used with a different request",
  payload_too_large: "Request is too large",
  rate_limited: "Too many requests",
  unavailable: "Service is unavailable for a moment, try again",
  internal: "Internal error",
  lease_lost: "Lease on the attempt was lost",
  lease_expired: "Lease on the attempt expired",
  timeout: "Attempt ran past its timeout",
  spawn_failed: "Command could not be started",
  exit_nonzero: "Command exited with a non-zero code",
  input_download_failed: "Input could not be downloaded",
  output_upload_failed: "Output could not be uploaded",
  agent_restarted: "Agent restarted while the attempt ran",
  agent_stopped: "Agent was stopped while it held the attempt",
  canceled: "Attempt was canceled",
  agent_paused: "Agent is paused and starts no new work",
  yielded_to_owner: "Agent stopped the job to give the workstation back to its user",
};

/**
 * The structured error body of the HTTP API. `request_id` is the request's X-Request-Id,
 * so a user's bug report names the one id every log line of that request carries.
 */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: Record<string, unknown>; request_id: string };
}

/** HTTP status for an error code. */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code];
}

/** Builds the `{"error": {...}}` body of one request, with the default message when none is given. */
export function errorBody(code: ErrorCode, requestId: string, message?: string, details: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message: message ?? DEFAULT_MESSAGES[code], details, request_id: requestId } };
}

/** True for errors a client may retry as they are (nothing about the request was wrong). */
export function isRetryable(code: ErrorCode): boolean {
  return code === "unavailable" || code === "rate_limited" || code === "internal";
}

/** True when a string names a known error code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}
