// How times, GPU memory and commands read on the page (sizes: bytes() of @labbridge/format).
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

/** "12.3 / 24.0 GiB" from the MiB the agent reports (binary, like every size: @labbridge/format). */
export function memory(usedMb: number | null | undefined, totalMb: number | null | undefined): string {
  const gib = (mb: number) => (mb / 1024).toFixed(1);
  if (totalMb === null || totalMb === undefined) return "—";
  return usedMb === null || usedMb === undefined ? `? / ${gib(totalMb)} GiB` : `${gib(usedMb)} / ${gib(totalMb)} GiB`;
}

/** An argv as one readable line: arguments with spaces or quotes are single-quoted, as a POSIX shell would take them. */
export function argvLine(argv: readonly string[]): string {
  return argv.map((a) => (a !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
