// The fingerprint of an attempt's whole output list. The agent reports its outputs in
// chunks and then only their count and this digest, so the server can tell that what it
// recorded is exactly what the agent uploaded without the list travelling in one frame.

/** What the digest covers of each output: the key is derived from the path, so it adds nothing. */
export type DigestedOutput = { path: string; size: number; sha256: string };

const compare = (a: DigestedOutput, b: DigestedOutput) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * Lowercase hex sha256 over one JSON line `[path,size,sha256]` per output, sorted by path
 * (UTF-16 code units, as JavaScript compares strings): the same on the agent and the server
 * whatever order the outputs were sent or stored in.
 */
export async function outputsDigest(outputs: readonly DigestedOutput[]): Promise<string> {
  const lines = [...outputs].sort(compare).map((o) => `${JSON.stringify([o.path, Number(o.size), o.sha256])}\n`);
  const bytes = new TextEncoder().encode(lines.join(""));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}
