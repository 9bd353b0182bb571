// A small hand-written checker: the agent runs under Deno with no registry but npm, and
// the protocol must stay dependency-free, so no schema library.

/** One reason a value was refused, with the field it concerns. */
export interface Problem {
  field: string;
  reason: string;
  /** Set when the field itself is not one the endpoint knows (API.md: 422 `unknown_field`). */
  code?: "unknown_field";
}

/** Result of checking an untrusted value. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** True for a plain JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True for an array of strings. */
export function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === "string");
}

/** True for an object whose values are all strings. */
export function isStringRecord(v: unknown): v is Record<string, string> {
  return isObject(v) && Object.values(v).every((s) => typeof s === "string");
}

/** True for a whole number within [min, max]. */
export function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

/** Byte length of a string as UTF-8. */
export function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}
