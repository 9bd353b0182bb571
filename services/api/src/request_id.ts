// X-Request-Id (API.md "Conventions"): the caller's id when it is sane, else a new one.
// Sane means 1 to 64 characters of letters, digits and . _ : - — enough for a UUID, a
// ULID or a trace id, short enough for audit_log.request_id (VARCHAR(64)), and nothing
// that could break a log line or a header.
import { ID_PREFIX, newId } from "@labbridge/protocol";

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The id a request is served under: the caller's X-Request-Id if sane, else a new `req_…` id. */
export function requestIdFor(header: string | undefined, now: number): string {
  return header !== undefined && SANE_REQUEST_ID.test(header) ? header : newId(ID_PREFIX.request, now);
}
