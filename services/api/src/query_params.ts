// Query parameters of the list endpoints added for issue 9 (tokens, audit, usage, job
// filters), read once the router has refused any the route does not name (router.ts), so a
// typo such as `?ownr=` never silently widens a list. Cursors are opaque base64url JSON.
import type { Request } from "@labbridge/uws";
import { ApiError } from "./api_error.ts";

/** A non-empty text parameter of at most `max` characters, or undefined when absent. */
export function textParam(req: Request, name: string, max = 128): string | undefined {
  const raw = req.query.get(name);
  if (raw === null) return undefined;
  if (raw.length === 0 || raw.length > max) throw new ApiError("validation_failed", `Invalid ${name} "${raw.slice(0, max)}": expected 1 to ${max} characters`, { parameter: name });
  return raw;
}

/** An RFC 3339 time parameter, or undefined when absent. */
export function timeParam(req: Request, name: string): Date | undefined {
  const raw = req.query.get(name);
  if (raw === null) return undefined;
  // Date.parse alone takes "2025" or "Jan 1"; the contract says RFC 3339.
  const ok = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/i.test(raw) && !Number.isNaN(Date.parse(raw));
  if (!ok) throw new ApiError("validation_failed", `Invalid ${name} "${raw.slice(0, 64)}": expected an RFC 3339 time such as 2025-01-01T00:00:00Z`, { parameter: name });
  return new Date(raw);
}

/** Encodes a list position as an opaque cursor. */
export function encodeCursor(position: string | number): string {
  return Buffer.from(JSON.stringify({ p: position })).toString("base64url");
}

/** Decodes `?cursor=` made by encodeCursor with a position of `kind`; undefined when absent, 400 when not ours. */
export function cursorParam<K extends "string" | "number">(req: Request, kind: K): (K extends "string" ? string : number) | undefined {
  const raw = req.query.get("cursor");
  if (raw === null) return undefined;
  try {
    const p: unknown = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")).p;
    if (typeof p === kind) return p as K extends "string" ? string : number;
  } catch {
    // refused below
  }
  throw new ApiError("validation_failed", `Invalid cursor "${raw.slice(0, 64)}": it is not one this list gave`, { parameter: "cursor" });
}
