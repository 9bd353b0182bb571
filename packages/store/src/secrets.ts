// Bearer secrets (API tokens, enrollment tokens, agent credentials) are random, carry a
// prefix saying what they are, and are stored only as sha256 hashes.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Prefixes of the secrets LabBridge hands out. */
export const SECRET_PREFIX = { apiToken: "lbu_", enrollment: "lbe_", credential: "lba_" } as const;

/** A new random secret with the given prefix. */
export function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString("base64url");
}

/** The sha256 hex digest stored in place of a secret. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Compares two secrets in constant time. */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}
