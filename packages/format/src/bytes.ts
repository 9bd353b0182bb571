// Sizes for people, one way across the product: binary units (KiB, MiB, GiB), because every
// size LabBridge itself sets is binary (64 MiB upload parts, 5 GiB OSS parts, GPU memory in
// MiB as nvidia-smi reports it), so a part or a card reads as a round number
// (docs/decisions/0036-binary-byte-units.md).

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** `n` bytes for people: "512 B", "1.5 MiB", "64.0 GiB" (one decimal once past bytes). */
export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}
