// How times, sizes and states read on the page.
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [["day", 86_400], ["hour", 3600], ["minute", 60], ["second", 1]];

/** "3 minutes ago", "in 2 hours"; "—" for no time. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  if (Math.abs(seconds) < 5) return "just now";
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") return relative.format(Math.round(seconds / size), unit);
  }
  return iso;
}

/** "1.5 MB". */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** "12.3 / 24.0 GB" from megabytes. */
export function memory(usedMb: number | null | undefined, totalMb: number | null | undefined): string {
  const gb = (mb: number) => (mb / 1024).toFixed(1);
  if (totalMb === null || totalMb === undefined) return "—";
  return usedMb === null || usedMb === undefined ? `? / ${gb(totalMb)} GB` : `${gb(usedMb)} / ${gb(totalMb)} GB`;
}

/** An argv as one readable line: arguments with spaces or quotes are single-quoted, as a POSIX shell would take them. */
export function argvLine(argv: readonly string[]): string {
  return argv.map((a) => (a !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
