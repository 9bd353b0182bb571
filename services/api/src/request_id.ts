// X-Request-Id (API.md "Conventions"): the caller's id when it is sane, else a new one.
// Sane means 1 to 64 characters of letters, digits and . _ : - — enough for a UUID, a
// ULID or a trace id, short enough for audit_log.request_id (VARCHAR(64)), and nothing
// that could break a log line or a header.
import { ID_PREFIX, newId } from "@labbridge/protocol";
import type { Request } from "@labbridge/uws";

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The id a request is served under: the caller's X-Request-Id if sane, else a new `req_…` id. */
export function requestIdFor(header: string | undefined, now: number): string {
  return header !== undefined && SANE_REQUEST_ID.test(header) ? header : newId(ID_PREFIX.request, now);
}

/**
 * The id a request is served under, as audit rows record it. The server writes that id into
 * the request's X-Request-Id header before routing (api_server.ts), so this reads it there;
 * null only for a request that never went through the server.
 */
export function requestIdOf(req: Request): string | null {
  const id = req.headers["x-request-id"];
  return typeof id === "string" && SANE_REQUEST_ID.test(id) ? id : null;
}
