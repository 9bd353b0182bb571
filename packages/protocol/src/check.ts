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

// With the u flag a surrogate range matches only surrogates that are not half of a pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * True when a string holds a UTF-16 surrogate that is not half of a pair: such a string
 * has no UTF-8 form, so URL encoding, MySQL and object keys would each fail on it.
 */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/**
 * The field (as `a.b[2]`) of the first string, key or value, anywhere in a parsed JSON value
 * that holds a lone surrogate, or null. Walks without recursion: a body may nest deeply.
 */
export function loneSurrogateField(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length > 0) {
    const [v, field] = stack.pop()!;
    if (typeof v === "string") {
      if (hasLoneSurrogate(v)) return field;
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push([item, `${field}[${i}]`]));
    } else if (isObject(v)) {
      for (const [k, item] of Object.entries(v)) {
        const name = field ? `${field}.${k}` : k;
        if (hasLoneSurrogate(k)) return name;
        stack.push([item, name]);
      }
    }
  }
  return null;
}

/**
 * One `unknown_field` problem for each key of `body` that is not in `known`, named under
 * `prefix` (e.g. `inputs[0].`), so a typo such as `timout_seconds` never passes silently.
 */
export function unknownFieldProblems(body: Record<string, unknown>, known: readonly string[], prefix = ""): Problem[] {
  return Object.keys(body)
    .filter((k) => !known.includes(k))
    .map((k) => ({ field: `${prefix}${k}`, reason: `is not a known field: expected one of ${known.join(", ")}`, code: "unknown_field" as const }));
}
