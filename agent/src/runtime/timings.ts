// Every duration the agent uses on its own, in one place so tests can shrink them. The
// heartbeat interval and lease TTL are NOT here: the gateway owns them (welcome).
import { DEFAULT_RETRY, type RetryPolicy } from "../transfer/transfer.ts";
import { DEFAULT_LIVE_LOG_LIMITS, type LiveLogLimits } from "../attempt/live_log.ts";

export interface Timings {
  /** How often GPUs (inventory and readings) and the host are read again for heartbeats. */
  telemetryMs: number;
  /** How often a new stdout line is sent as attempt.progress. */
  progressIntervalMs: number;
  /** Polite-stop window (SIGTERM) before a job tree is killed outright (Linux). */
  killGraceMs: number;
  /** How long log pipes may stay open after the job exited (a grandchild may hold them). */
  logDrainMs: number;
  /** Wait for presign.response before asking again. */
  presignTimeoutMs: number;
  /** Wait for any attempt.outputs_ack before sending the unacknowledged chunks again (same session). */
  outputsAckTimeoutMs: number;
  /** The gateway answers every heartbeat; this many heartbeat intervals (the one in use: busy or idle) without any frame means the path is dead: reconnect. */
  silenceHeartbeats: number;
  /** Give up on an assignment if no start_granted/abort came within this many lease TTLs. */
  grantTimeoutLeases: number;
  /** Longest wait for running attempts to stop on shutdown. */
  shutdownMs: number;
  connectTimeoutMs: number;
  welcomeTimeoutMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Reconnect delays while the network needs a person (captive portal, untrusted TLS); absent: connection_loop's PERSON_BACKOFF. */
  personBackoff?: { baseMs: number; capMs: number };
  transfer: RetryPolicy;
  /** Live log lines per attempt: flush interval and the rate cap (docs/decisions/0029). */
  liveLog: LiveLogLimits;
}

export const DEFAULT_TIMINGS: Timings = {
  telemetryMs: 5_000,
  progressIntervalMs: 5_000,
  killGraceMs: 5_000,
  logDrainMs: 2_000,
  presignTimeoutMs: 60_000,
  outputsAckTimeoutMs: 30_000,
  silenceHeartbeats: 3,
  grantTimeoutLeases: 3,
  shutdownMs: 15_000,
  connectTimeoutMs: 15_000,
  welcomeTimeoutMs: 30_000,
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
  transfer: DEFAULT_RETRY,
  liveLog: DEFAULT_LIVE_LOG_LIMITS,
};
