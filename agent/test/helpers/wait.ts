// Polling waits for integration tests: the thing under test runs in real time over real
// sockets and processes, so tests wait for an observable condition, never a fixed sleep.

/** Resolves with the first value `probe` returns that is not undefined/false; throws after timeoutMs. */
export async function until<R>(probe: () => R | undefined | false | Promise<R | undefined | false>, what: string, timeoutMs = 15_000): Promise<R> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const r = await probe();
    if (r !== undefined && r !== false) return r;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Sleeps; for tests that must show something does NOT happen within a window. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
