// Commits to one key (or one upload) run one at a time so a sidecar never points at a data
// file another commit is deleting; readers take no lock and retry instead.

/** Runs callbacks for the same name one after another, different names concurrently. */
export class KeyLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every earlier call for `name` has settled. */
  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    const current = previous.then(fn, fn);
    const tail = current.catch(() => undefined);
    this.tails.set(name, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  }
}
