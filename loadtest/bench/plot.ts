// The plot in docs/PERFORMANCE.md: dispatch p50 and p99 (and BullMQ's, for comparison)
// against the offered rate, drawn as an SVG here and rasterized to PNG with resvg (a
// prebuilt binary from the registry, no install script).
import { Resvg } from "@resvg/resvg-js";

/** One line of the plot: a name, a colour, and (offered rate, latency ms) points. */
export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: { x: number; y: number }[];
}

const W = 720;
const H = 420;
const M = { left: 70, right: 190, top: 40, bottom: 55 };

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at or above `max`. */
export function niceCeil(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** Axis titles of a plot; the dispatch plot's by default. */
export interface Axes {
  x: string;
  /** Without the unit's closing parenthesis: ", log scale)" or ")" is added. */
  y: string;
  /** Whether a y axis spanning more than 20× may go logarithmic. */
  allowLog?: boolean;
}

/** The plot as SVG text; the y axis is logarithmic when the values span more than 20× (unless the axes forbid it). */
export function plotSvg(title: string, series: Series[], axes: Axes = { x: "offered rate (jobs/s)", y: "latency (ms" }): string {
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => Number.isFinite(y) && y > 0);
  const xMax = niceCeil(Math.max(...xs, 1));
  // With no drawable point the axes still need a range: 1 ms.
  const yMinRaw = ys.length ? Math.min(...ys) : 1;
  const yMaxRaw = ys.length ? Math.max(...ys) : 1;
  const log = (axes.allowLog ?? true) && yMaxRaw / yMinRaw > 20;
  const yLo = log ? 10 ** Math.floor(Math.log10(yMinRaw)) : 0;
  const yHi = log ? 10 ** Math.ceil(Math.log10(yMaxRaw)) : niceCeil(yMaxRaw);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const px = (x: number) => M.left + (x / xMax) * pw;
  const py = (y: number) => M.top + ph - (log ? (Math.log10(Math.max(y, yLo)) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo)) : y / yHi) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2 - M.right / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  const yTicks = log ? Array.from({ length: Math.log10(yHi / yLo) + 1 }, (_, i) => yLo * 10 ** i) : [0, 0.25, 0.5, 0.75, 1].map((f) => f * yHi);
  for (const t of yTicks) {
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${py(t)}" y2="${py(t)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${py(t) + 4}" text-anchor="end">${+t.toPrecision(3)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const t = (xMax * i) / 5;
    out.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${M.top}" y2="${M.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${px(t)}" y="${M.top + ph + 18}" text-anchor="middle">${+t.toPrecision(3)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(axes.x)}</text>`);
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(axes.y)}${log ? ", log scale" : ""})</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y) && p.y > 0);
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ")}"/>`);
    for (const p of pts) out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
    const ly = M.top + 14 + i * 20;
    out.push(`<line x1="${W - M.right + 14}" x2="${W - M.right + 40}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${W - M.right + 46}" y="${ly}">${esc(s.name)}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n");
}

/** Rasterizes SVG text to PNG bytes (system fonts; DejaVu Sans where present). */
export function svgToPng(svg: string): Buffer {
  return Buffer.from(new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" } }).render().asPng());
}
