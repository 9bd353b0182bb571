// Which ioredis errors mean "Redis is away for a moment" (restart, failover, a network
// cut) rather than "this command is wrong": the API answers 503 for these, and stream
// consumers retry them for as long as it takes instead of counting them as poison.

/** True for errors raised because Redis could not be reached or the connection dropped. */
export function isRedisUnavailableError(err: unknown): boolean {
  const name = (err as Error)?.name ?? "";
  const message = (err as Error)?.message ?? "";
  return name === "MaxRetriesPerRequestError" ||
    /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Stream isn't writeable|enableOfflineQueue|LOADING|READONLY|MASTERDOWN/i.test(message);
}
