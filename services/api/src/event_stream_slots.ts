// How many Server-Sent Event streams each user holds open on this API instance. Each
// stream holds memory and a subscription for as long as the client keeps it, so one user
// cannot open hundreds; the count is per process because the memory it guards is.

/** Open event streams per user, up to a cap. */
export class EventStreamSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly perUser: number) {}

  /** Takes a slot for `owner`; returns its release (idempotent), or null when the user is at the cap. */
  acquire(owner: string): (() => void) | null {
    const n = this.open.get(owner) ?? 0;
    if (n >= this.perUser) return null;
    this.open.set(owner, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(owner) ?? 1) - 1;
      if (left <= 0) this.open.delete(owner);
      else this.open.set(owner, left);
    };
  }

  /** Streams `owner` holds open now. */
  count(owner: string): number {
    return this.open.get(owner) ?? 0;
  }

  /** The cap per user. */
  get cap(): number {
    return this.perUser;
  }
}
