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

  /** Takes one token; false when the bucket is empty. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = Math.max(this.updatedAt, now);
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed / 1000) * this.limit.perSecond);
  }
}
