// Minimal assertions (JSR's @std/assert cannot be fetched here): deep equality via
// node:util's isDeepStrictEqual, with readable failure messages.
import { isDeepStrictEqual } from "node:util";

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

export function assertExists<T>(v: T, msg = "value is missing"): asserts v is NonNullable<T> {
  if (v === null || v === undefined) throw new AssertionError(msg);
}

export function assertThrows(fn: () => unknown, errorClass?: new (...args: never[]) => Error, includes?: string): Error {
  try {
    fn();
  } catch (e) {
    if (errorClass && !(e instanceof errorClass)) throw new AssertionError(`expected ${errorClass.name}, got ${e}`);
    if (includes && !(e instanceof Error && e.message.includes(includes))) throw new AssertionError(`expected message with "${includes}", got "${e}"`);
    return e as Error;
  }
  throw new AssertionError("expected a throw");
}

export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  if (!re.test(actual)) throw new AssertionError(`${msg ? msg + ": " : ""}${JSON.stringify(actual)} does not match ${re}`);
}
