// Errors as the API answers them: `{"error": {"code", "message", "details", "request_id"}}`
// with the status the protocol's error table gives. MySQL or Redis being away is a 503 that
// loses nothing: the request was not applied, and the client may retry it as it is. Any
// other error we did not foresee is a 500 `internal`, logged with its stack.
import { errorBody, httpStatusOf, type ErrorCode, type Problem } from "@labbridge/protocol";
import { isUnavailableError } from "@labbridge/store";
import { isRedisUnavailableError } from "@labbridge/streams";
import { BodyTooLargeError, type Response } from "@labbridge/uws";
import type { Logger } from "@labbridge/logging";

/** An error with a code the client can act on, and headers that go with it (Allow, Retry-After). */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message ?? code);
  }
}

/**
 * A 422 listing every problem with the request. A field the endpoint does not know makes
 * it `unknown_field` (API.md), naming the field in `details.field`, so a typo such as
 * `requirements.gpu` is told apart from a bad value.
 */
export function validationError(problems: Problem[]): ApiError {
  const unknown = problems.find((p) => p.code === "unknown_field");
  const first = unknown ?? problems[0];
  const message = first ? `Invalid request: ${first.field ? `${first.field} ` : ""}${first.reason}` : "Invalid request";
  if (unknown) return new ApiError("unknown_field", message, { field: unknown.field, problems });
  return new ApiError("validation_failed", message, { problems });
}

/** Turns any error into the structured response of request `requestId`; unexpected ones are logged. */
export function errorResponse(err: unknown, log: Logger, requestId: string): Response {
  if (err instanceof ApiError) {
    return { status: httpStatusOf(err.code), body: errorBody(err.code, requestId, err.message, err.details), headers: err.headers };
  }
  if (err instanceof BodyTooLargeError) return { status: 413, body: errorBody("payload_too_large", requestId, err.message) };
  if (isUnavailableError(err) || isRedisUnavailableError(err)) {
    log.warn({ err: (err as Error).message }, "dependency unavailable, answering 503");
    return { status: 503, body: errorBody("unavailable", requestId), headers: { "retry-after": "2" } };
  }
  log.error({ err: (err as Error)?.message, stack: (err as Error)?.stack }, "unexpected error");
  return { status: 500, body: errorBody("internal", requestId) };
}
