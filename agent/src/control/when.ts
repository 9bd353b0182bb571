// The times people type at the CLI: `--for 2h`, `--for 1h30m`, `--until 18:00` (local
// time: today, or tomorrow once 18:00 has passed), or a full RFC 3339 time.

/** Milliseconds of `2h`, `90m`, `45s`, `1h30m`, `1d`; null when it is not such a duration. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (!/^(\d+[dhms])+$/.test(t)) return null;
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
  let ms = 0;
  for (const [, n, u] of t.matchAll(/(\d+)([dhms])/g)) ms += Number(n) * unit[u as keyof typeof unit];
  return ms > 0 && ms <= 366 * 86_400_000 ? ms : null;
}

/**
 * The moment `text` names, after `nowMs`: `HH:MM` in the machine's local time zone (the
 * next such time: later today or tomorrow), or an RFC 3339 time, which must lie ahead.
 * Null when it is neither.
 */
export function parseUntil(text: string, nowMs: number): number | null {
  const t = text.trim();
  const hm = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(t);
  if (hm) {
    const d = new Date(nowMs);
    d.setHours(Number(hm[1]), Number(hm[2]), 0, 0);
    if (d.getTime() <= nowMs) d.setDate(d.getDate() + 1);
    return d.getTime();
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(t)) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) || ms <= nowMs ? null : ms;
  }
  return null;
}
