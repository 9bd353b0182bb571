// Reconnect delays. Exponential backoff with full jitter: many lab agents lose the
// gateway together (a gateway restart, a campus network blip), and full jitter spreads
// their reconnects over the whole window instead of synchronising them.

export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** Uniform [0, 1); injected so tests can pin it. */
  random?: () => number;
}

export class Backoff {
  private failures = 0;
  readonly baseMs: number;
  readonly capMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 500;
    this.capMs = opts.capMs ?? 30_000;
    this.random = opts.random ?? Math.random;
  }

  /** Upper bound of the next delay: base * 2^failures, never above the cap. */
  ceilingMs(): number {
    // The exponent is clamped so 2 ** n never overflows to Infinity after a long outage.
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.failures, 30));
  }

  /** Delay before the next try, uniform in [0, ceiling); counts one more failure. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceilingMs());
    this.failures++;
    return delay;
  }

  /** Back to the first step: called once a connection proved healthy (got its welcome). */
  reset(): void {
    this.failures = 0;
  }
}

/** `ms` moved by up to ±fraction (default ±10%), so periodic frames from many agents spread out. */
export function jittered(ms: number, fraction = 0.1, random: () => number = Math.random): number {
  return Math.max(0, ms * (1 + (random() * 2 - 1) * fraction));
}
