// The retry hint of a gateway that sheds load (admission control during a reconnect
// storm, or its hard cap on connections): the socket is upgraded and closed at once with
// 1013 "Try Again Later", and the close reason says how long to wait. A close reason is
// what every WebSocket client can read (Deno's cannot read a refused upgrade's status or
// headers, decision 0005), so the hint travels there rather than in a Retry-After header.

/** Longest wait a gateway asks for, and the most an agent honours from a reason it parses. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** The close reason carrying a retry hint (well under the 123-byte limit of a close reason). */
export function retryAfterReason(ms: number): string {
  return `busy, retry after ${Math.max(0, Math.min(MAX_RETRY_AFTER_MS, Math.round(ms)))} ms`;
}

/** The wait a close reason asks for, in ms, or null when it carries no hint. */
export function retryAfterOf(reason: string): number | null {
  const m = /retry after (\d{1,6}) ms/.exec(reason);
  return m ? Math.min(MAX_RETRY_AFTER_MS, Number(m[1])) : null;
}
