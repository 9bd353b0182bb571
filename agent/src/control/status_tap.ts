// What `agent status` says about the connection and trouble, read off the agent's own log
// lines rather than threaded through the session code: the gateway it connected to and
// when, and the last warning or error. The wrapped logger passes every line on unchanged.
import type { Fields, Logger } from "../runtime/log.ts";

export interface TapSnapshot {
  gateway: string | null;
  connectedAtMs: number | null;
  lastError: { at: string; message: string } | null;
}

/** Wraps `log`; `snapshot()` tells what the lines so far said. */
export function statusTap(log: Logger, clock: () => number): { log: Logger; snapshot: () => TapSnapshot } {
  const snap: TapSnapshot = { gateway: null, connectedAtMs: null, lastError: null };
  const seen = (level: string, msg: string, f?: Fields) => {
    if (msg === "connected to gateway") {
      snap.gateway = typeof f?.url === "string" ? f.url : null;
      snap.connectedAtMs = clock();
    } else if (level === "warn" || level === "error") {
      const detail = typeof f?.error === "string" ? `: ${f.error}` : "";
      snap.lastError = { at: new Date(clock()).toISOString(), message: `${msg}${detail}`.slice(0, 500) };
    }
  };
  const wrap = (inner: Logger): Logger => ({
    debug: (m, f) => inner.debug(m, f),
    info: (m, f) => (seen("info", m, f), inner.info(m, f)),
    warn: (m, f) => (seen("warn", m, f), inner.warn(m, f)),
    error: (m, f) => (seen("error", m, f), inner.error(m, f)),
    child: (fields) => wrap(inner.child(fields)),
  });
  return { log: wrap(log), snapshot: () => ({ ...snap }) };
}
