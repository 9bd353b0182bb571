// What `lb` exits with, so scripts can tell failures apart (cli/README.md lists them).

/** Exit status of every `lb` command. */
export const EXIT = {
  ok: 0,
  /** The API refused the request (4xx other than auth and not found) or failed (5xx). */
  api: 1,
  /** The command line itself is wrong: unknown option, missing argument, bad value. */
  usage: 2,
  /** Not logged in, or the token is refused (401) or lacks the right (403). */
  auth: 3,
  /** The job, agent, upload or token does not exist (404). */
  notFound: 4,
  /** `--follow` or `logs -f` saw the job end FAILED or CANCELED. */
  jobFailed: 5,
  /** The server or the object store could not be reached, or answered 503 after retries. */
  unavailable: 6,
  /** A file moved but its size or sha256 does not match. */
  integrity: 7,
} as const;

/** One of the exit statuses above. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error `lb` reports and exits with; `requestId` is the API's id for a bug report. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly details: { code?: string; status?: number; requestId?: string | null } = {},
  ) {
    super(message);
  }
}
