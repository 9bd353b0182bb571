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

  /** A wake-up nobody waits for; a failed pass is logged, and the PENDING sweep tries again. */
  poke(): void {
    this.run().catch((err) => this.ctx.log.warn({ err: (err as Error).message }, "matching pass failed"));
  }

  /** Stops taking wake-ups and waits for the passes in hand. */
  async close(): Promise<void> {
    this.closed = true;
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
