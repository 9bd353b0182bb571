// A small horizontal bar for a share (GPU memory, utilization); empty when unknown.

/** A bar filled to `fraction` (0..1), with its label. */
export function Meter({ fraction, label }: { fraction: number | null; label: string }) {
  const pct = fraction === null ? 0 : Math.max(0, Math.min(1, fraction)) * 100;
  const level = pct >= 90 ? "high" : pct >= 60 ? "mid" : "low";
  return (
    <span class="meter" title={label}>
      <span class={`meter-fill meter-${level}`} style={{ width: `${pct}%` }} />
      <span class="meter-label">{label}</span>
    </span>
  );
}
