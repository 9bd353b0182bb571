// Which gateway to try next, and how long to wait first. Pure, so the choices are
// unit-tested with a pinned `random`.
//
// A fleet of agents starts at random places in the list, so the gateways share the load,
// and every agent moves one step on after each failed connect or lost session: a dead
// gateway is left at once, and a live one is never more than one step away.
import { CLOSE_CODES, retryAfterOf } from "../../../packages/protocol/src/index.ts";
import type { Backoff } from "./backoff.ts";
import type { CloseInfo } from "./frame_socket.ts";

/** RFC 6455 "service restart": a proxy or gateway going down on purpose, like 1001. */
export const SERVICE_RESTART_CLOSE = CLOSE_CODES.service_restart;

/** Longest wait after a gateway asked us to go: enough to spread a fleet over a few hundred ms. */
export const GO_AWAY_JITTER_MS = 250;

/** Round robin over the gateway URLs, starting at a random one. */
export class GatewayRotation {
  private index: number;

  constructor(readonly urls: readonly string[], random: () => number) {
    if (urls.length === 0) throw new Error("no gateway URL to connect to");
    // min() guards a random() that returns exactly 1.
    this.index = Math.min(urls.length - 1, Math.floor(random() * urls.length));
  }

  current(): string {
    return this.urls[this.index]!;
  }

  /** Moves to the next URL (wrapping) and returns it. */
  advance(): string {
    this.index = (this.index + 1) % this.urls.length;
    return this.current();
  }
}

/** True when the gateway closed on purpose and expects us back at once (graceful stop, restart). */
export function isGoAway(code: number): boolean {
  return code === CLOSE_CODES.going_away || code === SERVICE_RESTART_CLOSE;
}

/**
 * The wait before connecting again after a session ended with `close`. `welcomed`: the
 * session was healthy (got its welcome). A healthy session told to go away reconnects
 * after a short jitter without counting a failure: the next gateway is most likely up. A
 * go-away before welcome counts as a failed connect, so a gateway that keeps shutting
 * the door cannot make a fleet reconnect in a tight loop. 4409 after a session (another
 * process took this identity over) waits the whole cap. 4409 at hello means a session of
 * this credential still looks healthy to the gateway (usually our own, after a drop the
 * gateway has not noticed yet; it lets us in once that one is two heartbeats silent), so
 * it backs off like a failed connect. 4429 (over a rate limit) backs off the same way.
 * 1013 (a gateway shedding load, retry_hint.ts) waits as long as its reason says: the
 * gateway spread its refusals over the time it needs, so the fleet comes back in the
 * order it can take it. No failure is counted: the gateway is up and said when.
 */
export function delayAfterSession(close: CloseInfo, welcomed: boolean, backoff: Backoff, random: () => number): number {
  const hint = close.code === CLOSE_CODES.try_again_later ? retryAfterOf(close.reason) : null;
  if (hint !== null) return hint;
  if (close.code === CLOSE_CODES.replaced && welcomed) return backoff.capMs;
  if (welcomed && isGoAway(close.code)) return Math.floor(random() * GO_AWAY_JITTER_MS);
  return backoff.next();
}

/**
 * While the agent holds attempts, no reconnect wait may be longer than a quarter of the
 * lease TTL the gateway announced: exponential backoff after a few failed tries during
 * a network cut would otherwise sleep past the lease, and a cut shorter than the lease
 * would still cost the attempt. Idle agents keep the full backoff.
 */
export function capWhileHolding(delayMs: number, holding: boolean, leaseTtlMs: number | null): number {
  if (!holding || leaseTtlMs === null) return delayMs;
  return Math.min(delayMs, Math.floor(leaseTtlMs / 4));
}
