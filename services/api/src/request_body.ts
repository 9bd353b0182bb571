// JSON bodies: malformed or empty JSON is a 400 with code malformed_json.
import type { Request } from "@labbridge/uws";
import { ApiError } from "./api_error.ts";

/** Parses the request's JSON body; an empty body reads as `{}` when `emptyOk`. */
export function jsonBody(req: Request, emptyOk = false): unknown {
  if (req.body.length === 0) {
    if (emptyOk) return {};
    throw new ApiError("malformed_json", "Request body is empty: expected a JSON object");
  }
  try {
    return JSON.parse(req.body.toString("utf8"));
  } catch (err) {
    throw new ApiError("malformed_json", `Request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Reads `?limit=` (default 50, max 500). */
export function limitParam(req: Request): number {
  const raw = req.query.get("limit");
  if (raw === null) return 50;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new ApiError("validation_failed", `Invalid limit "${raw}": expected 1 to 500`);
  return n;
}
