// The agent's clock against its gateway's, measured at connect: hello leaves at `sentAt`,
// welcome (stamped with the gateway's clock) arrives at `receivedAt`; the gateway's stamp is
// taken to fall in the middle. Presigned URLs carry absolute expiry times, so a workstation
// whose clock is minutes off sees them as expired (or not yet valid): say so plainly.

import { CLOCK_SKEW_WARN_MS } from "../../../packages/protocol/src/index.ts";

/** The agent's clock minus the gateway's (ms), or null when welcome carried no time. */
export function clockSkewMs(sentAt: number, receivedAt: number, serverTimeMs: unknown): number | null {
  if (typeof serverTimeMs !== "number" || !Number.isFinite(serverTimeMs) || receivedAt < sentAt) return null;
  return Math.round((sentAt + receivedAt) / 2 - serverTimeMs);
}

/** A sentence for a skew worth warning about, or null. */
export function skewWarning(skewMs: number | null): string | null {
  if (skewMs === null || Math.abs(skewMs) < CLOCK_SKEW_WARN_MS) return null;
  const minutes = Math.round(Math.abs(skewMs) / 60_000);
  return `this workstation's clock is ${minutes} min ${skewMs > 0 ? "ahead of" : "behind"} the gateway's: turn on time synchronisation (Windows: Settings > Time & language > Sync now; Linux: timedatectl set-ntp true)`;
}
