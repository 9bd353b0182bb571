// A token bucket on an injected clock: `burst` frames at once, refilled at `perSecond`.
// Time that runs backwards (a test clock, a stepped wall clock) refills nothing.

/** How many frames a bucket allows at once, and how fast it refills. */
export interface BucketLimit {
  burst: number;
  perSecond: number;
}

/** One bucket; full when created. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(readonly limit: BucketLimit, now: number) {
    this.tokens = limit.burst;
    this.updatedAt = now;
  }

  /** Takes `n` tokens (one frame, or n lines or bytes); false, taking none, when fewer are left. */
  take(now: number, n = 1): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Whether the bucket is full at `now`: then it is the same as a new one, and may be dropped. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.limit.burst;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = Math.max(this.updatedAt, now);
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed / 1000) * this.limit.perSecond);
  }
}
