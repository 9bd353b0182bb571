// A time as "3 minutes ago", with the exact UTC time on hover.
import { ago } from "../format.ts";

/** A relative time. */
export function TimeAgo({ at }: { at: string | null | undefined }) {
  if (!at) return <span class="muted">—</span>;
  return <time dateTime={at} title={at}>{ago(at)}</time>;
}
