// The request id a handler puts on the audit rows it writes. Task A's request-id work (every
// response's X-Request-Id, a fresh id when the caller sends none) replaces the body of this
// one function at merge; until then it is the caller's X-Request-Id when that is sane.
import type { Request } from "@labbridge/uws";

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The id of this request, or null when it has none yet. */
export function requestIdOf(req: Request): string | null {
  const id = req.headers["x-request-id"];
  return typeof id === "string" && SANE_REQUEST_ID.test(id) ? id : null;
}
