// pino JSON logs for people: one line per state transition, child loggers carrying job,
// attempt and agent ids. Secrets never reach a line: tokens and credentials are censored
// and presigned URLs lose their signatures.
import { pino, type Logger } from "pino";
import { redactPresignedUrl } from "@labbridge/storage";

export type { Logger } from "pino";

const SECRET_PATHS = [
  "token", "*.token", "credential", "*.credential", "authorization", "*.authorization",
  "headers.authorization", "req.headers.authorization", "secret", "*.secret",
];
const URL_PATHS = ["url", "*.url", "uploads[*].url", "inputs[*].url"];

/** Makes the root logger of one service. */
export function createLogger(service: string, level = "info"): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [...SECRET_PATHS, ...URL_PATHS],
      censor: (value, path) => {
        const last = path[path.length - 1];
        if (last === "url" && typeof value === "string") return redactPresignedUrl(value);
        return "[redacted]";
      },
    },
  });
}
