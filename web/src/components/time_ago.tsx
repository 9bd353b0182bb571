// A time as "3 minutes ago", with the exact UTC time on hover; it moves on by itself, so a
// page that is not polled (a finished job) does not freeze at "just now".
import { useEffect, useState } from "preact/hooks";
import { ago } from "../format.ts";

const TICK_MS = 10_000;

/** A relative time. */
export function TimeAgo({ at }: { at: string | null | undefined }) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), TICK_MS);
    return () => clearInterval(timer);
  }, []);
  if (!at) return <span class="muted">—</span>;
  return <time dateTime={at} title={at}>{ago(at)}</time>;
}
