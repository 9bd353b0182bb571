// The hellos of open agent sockets, at most `limit` handled at once and the rest waiting
// in the order they came. A hello costs a presence claim, telemetry, lease renewals and an
// `agent.online` entry: after a reconnect storm's upgrades are let in, their hellos would
// otherwise all hit Redis together. A waiting hello is never refused (its socket is open
// and its credential checked; refusing it would only make the agent knock again), and a
// socket that closes while it waits leaves the line.

/** The gateway's line of hellos. */
export class HelloQueue {
  private running = 0;
  private peakRunning = 0;
  /** Waiting sockets, by the key they waited with, in arrival order (a Map keeps insertion order). */
  private readonly waiting = new Map<object, (turn: boolean) => void>();

  constructor(readonly limit: number) {}

  /**
   * Resolves true when `key`'s hello may run (call done() after it), false when it left the
   * line first (leave()). A key waits at most once at a time.
   */
  turn(key: object): Promise<boolean> {
    if (this.running < this.limit && this.waiting.size === 0) {
      this.start();
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiting.set(key, resolve));
  }

  /** Ends a hello: the first in line starts. */
  done(): void {
    this.running = Math.max(0, this.running - 1);
    const next = this.waiting.entries().next();
    if (next.done) return;
    const [key, resolve] = next.value;
    this.waiting.delete(key);
    this.start();
    resolve(true);
  }

  /** Takes `key` out of the line, if it waits (its socket closed); harmless otherwise. */
  leave(key: object): void {
    const resolve = this.waiting.get(key);
    if (!resolve) return;
    this.waiting.delete(key);
    resolve(false);
  }

  /** Hellos running and waiting, and the most ever running at once (for metrics and tests). */
  get counts(): { running: number; waiting: number; peakRunning: number } {
    return { running: this.running, waiting: this.waiting.size, peakRunning: this.peakRunning };
  }

  private start(): void {
    this.running++;
    this.peakRunning = Math.max(this.peakRunning, this.running);
  }
}
