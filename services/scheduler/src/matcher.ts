// Wake-ups of the matcher coalesce: however many come while a pass runs (a burst of
// submissions, a flood of finished attempts), one more pass follows, and it sees them all.
// A caller that waits is answered by a pass that started after its call, so what it
// committed before calling is taken into account.
import type { ServiceContext } from "@labbridge/runtime";
import { matchPending } from "./match_pending.ts";

/** The coalescing front of the matching passes of one scheduler. */
export class Matcher {
  private current: Promise<number> | null = null;
  private next: Promise<number> | null = null;
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly ctx: ServiceContext) {}

  /** Runs a pass that starts after this call (shared with other callers); resolves with what it assigned. */
  run(): Promise<number> {
    if (this.closed) return Promise.resolve(0);
    if (!this.current) return this.start();
    this.next ??= this.current.catch(() => 0).then(() => {
      this.next = null;
      return this.closed ? 0 : this.start();
    });
    return this.next;
  }

  /**
   * A wake-up nobody waits for. A failed pass (MySQL or Redis away) is logged and tried
   * again after a short jittered pause, so a submission does not wait for the next sweep.
   */
  poke(): void {
    this.run().catch((err) => {
      // Every poke waiting on the failed pass lands here: one line and one retry for all.
      // A closed pool means the service is stopping: nothing to retry.
      if (this.retry || this.closed || /Pool is closed/.test((err as Error).message)) return;
      this.ctx.log.warn({ err: (err as Error).message }, "matching pass failed, will retry");
      this.retry = setTimeout(() => {
        this.retry = null;
        this.poke();
      }, 500 + Math.random() * 500);
      this.retry.unref?.();
    });
  }

  /** Stops taking wake-ups and waits for the passes in hand. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await Promise.allSettled([this.current, this.next]);
  }

  private start(): Promise<number> {
    const pass: Promise<number> = matchPending(this.ctx).finally(() => {
      if (this.current === pass) this.current = null;
    });
    this.current = pass;
    return pass;
  }
}

const matchers = new WeakMap<ServiceContext, Matcher>();

/** The matcher of a service context (one per scheduler). */
export function matcherFor(ctx: ServiceContext): Matcher {
  let m = matchers.get(ctx);
  if (!m) matchers.set(ctx, (m = new Matcher(ctx)));
  return m;
}
