// A session's heartbeat interval and how long its presence lasts, from the attempts its
// hello or last heartbeat named (decision 0028). An agent holding no attempt beats at the
// idle interval; one holding any beats at the busy one, which its leases need.
import type { Config } from "@labbridge/config";

/** The interval a session beats at and the presence each of its beats buys. */
export interface HeartbeatWindow {
  /** The interval the agent beats at (ms), recorded in presence: the claim judges silence on it. */
  intervalMs: number;
  /** How long presence (and the readings) last after a beat (ms). */
  presenceTtlMs: number;
}

/**
 * Idle: presence lasts three idle intervals (at least the lease TTL), so one lost or late
 * beat (±10 % jitter) never flaps an idle agent OFFLINE. Busy: the lease TTL, as its leases.
 */
export function heartbeatWindow(config: Pick<Config, "heartbeatSeconds" | "idleHeartbeatSeconds" | "leaseTtlSeconds">, running: readonly string[]): HeartbeatWindow {
  if (running.length > 0) return { intervalMs: config.heartbeatSeconds * 1000, presenceTtlMs: config.leaseTtlSeconds * 1000 };
  return {
    intervalMs: config.idleHeartbeatSeconds * 1000,
    presenceTtlMs: Math.max(config.leaseTtlSeconds, 3 * config.idleHeartbeatSeconds) * 1000,
  };
}

/**
 * uWS closes a socket that sent nothing for this long (s): past three of the longest
 * interval, so an idle agent is never cut between beats, and a dead peer is still noticed
 * when no FIN arrives (NAT timeouts, pulled cables).
 */
export function socketIdleTimeoutSeconds(config: Pick<Config, "heartbeatSeconds" | "idleHeartbeatSeconds">): number {
  return Math.max(8, Math.ceil(3 * Math.max(config.heartbeatSeconds, config.idleHeartbeatSeconds)));
}

/**
 * How long this gateway's liveness key lasts without renewal (ms): two busy intervals. A
 * gateway killed without ending its sessions frees its agents (idle ones included, whose
 * own window is two idle intervals) within that, the bound every agent had before idle
 * sessions got a longer window. Renewed four times per TTL.
 */
export function gatewayAliveTtlMs(config: Pick<Config, "heartbeatSeconds">): number {
  return 2 * config.heartbeatSeconds * 1000;
}
