// Tokens that authenticated lately on this API instance, kept as sha256 hashes. When a source
// address is over its failed-authentication budget, a request carrying one of these still
// gets its (real) lookup, so a lab behind one NAT address is not locked out by whoever there
// sends bad tokens; a guesser has no good token to show. Revocation still holds: the lookup
// is made every time, this only decides whether it is made while the address is blocked.
import { createHash } from "node:crypto";

/** Hashes of tokens that authenticated in the last `ttlMs`, at most `max` of them. */
export class RecentTokens {
  private readonly seen = new Map<string, number>();

  constructor(private readonly ttlMs: number, private readonly max = 10_000) {}

  private static hash(token: string): string {
    return createHash("sha256").update(token).digest("base64url");
  }

  /** Notes that `token` authenticated at `now`. */
  remember(token: string, now: number): void {
    const h = RecentTokens.hash(token);
    this.seen.delete(h);
    this.seen.set(h, now);
    // A Map iterates in insertion order: the first key is the least recently seen.
    if (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
  }

  /** True when `token` authenticated within the last ttlMs. */
  has(token: string | null, now: number): boolean {
    if (token === null) return false;
    const at = this.seen.get(RecentTokens.hash(token));
    return at !== undefined && now - at < this.ttlMs;
  }
}
