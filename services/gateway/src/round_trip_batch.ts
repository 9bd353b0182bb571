// Calls that arrive within a few milliseconds (or `max` of them) go to Redis as one round
// trip: one script for all of them, each entry fenced on its own session inside it, so a
// batch is only a cheaper way to make the same moves. Each caller gets its own answer; a
// failed round trip fails every call in it, each as one failed call alone would.
// Heartbeat renewals use it (decision 0028).

/** How a batch is sized: at most `max` entries, the first one waiting at most `windowMs` for others. */
export interface BatchLimits {
  max: number;
  windowMs: number;
}

interface Waiting<E, R> {
  entry: E;
  resolve: (answer: R) => void;
  reject: (err: unknown) => void;
}

/** Collects entries and sends them together; `send` answers one result per entry, in order. */
export class RoundTripBatch<E, R> {
  private waiting: Waiting<E, R>[] = [];
  private scheduled = false;

  constructor(
    private readonly send: (entries: E[]) => Promise<R[]>,
    private readonly limits: BatchLimits,
    /** Names the call in the error of a short answer. */
    private readonly what: string,
  ) {}

  /** Sends one entry with the others of its few milliseconds; resolves with its own answer. */
  add(entry: E): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ entry, resolve, reject });
      if (this.waiting.length >= this.limits.max) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setTimeout(() => {
          this.scheduled = false;
          this.flush();
        }, this.limits.windowMs);
      }
    });
  }

  private flush(): void {
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    this.send(batch.map((w) => w.entry)).then(
      (answers) => {
        if (answers.length !== batch.length) {
          const err = new Error(`${this.what} answered ${answers.length} of ${batch.length} entries`);
          for (const w of batch) w.reject(err);
          return;
        }
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(answers[i]!);
      },
      (err) => {
        for (const w of batch) w.reject(err);
      },
    );
  }
}
