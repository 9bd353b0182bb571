// JSON bodies and common query parameters. Malformed or empty JSON is a 400 with code
// malformed_json; a string with a lone surrogate anywhere in the body is a 422 naming the
// field, since it has no UTF-8 form for MySQL, object keys or URLs to take.
import { loneSurrogateField } from "@labbridge/protocol";
import type { Request } from "@labbridge/uws";
import { ApiError, validationError } from "./api_error.ts";

/** Parses the request's JSON body; an empty body reads as `{}` when `emptyOk`. */
export function jsonBody(req: Request, emptyOk = false): unknown {
  if (req.body.length === 0) {
    if (emptyOk) return {};
    throw new ApiError("malformed_json", "Request body is empty: expected a JSON object");
  }
  let parsed: unknown;
  try {
    // fatal: bytes that are not UTF-8 are refused instead of read as U+FFFD.
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(req.body));
  } catch (err) {
    throw new ApiError("malformed_json", `Request body is not valid JSON: ${(err as Error).message}`);
  }
  const field = loneSurrogateField(parsed);
  if (field !== null) throw validationError([{ field, reason: "contains a lone surrogate (no UTF-8 form)" }]);
  return parsed;
}

/** For a call that takes no body: nothing, or an empty JSON object; any field is refused as unknown. */
export function emptyBody(req: Request): void {
  const body = jsonBody(req, true);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw validationError([{ field: "", reason: "must be empty or a JSON object" }]);
  const fields = Object.keys(body);
  if (fields.length) throw validationError(fields.map((f) => ({ field: f, reason: "is not a field of this call: it takes none", code: "unknown_field" as const })));
}

/** Reads `?limit=` (default 50, max 500). */
export function limitParam(req: Request): number {
  const raw = req.query.get("limit");
  if (raw === null) return 50;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(n) || n < 1 || n > 500) throw new ApiError("validation_failed", `Invalid limit "${raw}": expected 1 to 500`);
  return n;
}
