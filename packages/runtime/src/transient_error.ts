// The one predicate that says whether a failed step may simply be tried again later
// (STYLE.md "one predicate says what is retryable"): MySQL or Redis unreachable, or a
// lock conflict InnoDB resolved by rolling us back. Everything else is a real error.
import { isUnavailableError } from "@labbridge/store";
import { isRedisUnavailableError } from "@labbridge/streams";

const LOCK_CONFLICTS = new Set(["ER_LOCK_DEADLOCK", "ER_LOCK_WAIT_TIMEOUT"]);

/** True when the error comes from a dependency being away or a lock conflict, not from the data. */
export function isTransientError(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? "";
  return LOCK_CONFLICTS.has(code) || isUnavailableError(err) || isRedisUnavailableError(err);
}
