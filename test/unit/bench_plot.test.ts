import { describe, expect, it } from "vitest";
import { niceCeil, plotSvg, svgToPng } from "../../loadtest/bench/plot.ts";

// The latency plot of docs/PERFORMANCE.md: an SVG drawn here, rasterized to PNG.

const series = [
  { name: "LabBridge p50", color: "#1f77b4", points: [{ x: 20, y: 12 }, { x: 50, y: 15 }, { x: 100, y: 240 }] },
  { name: "BullMQ p50", color: "#d62728", dashed: true, points: [{ x: 20, y: 1.5 }, { x: 50, y: 1.2 }, { x: 100, y: Number.NaN }] },
];

describe("niceCeil", () => {
  it("rounds an axis maximum up to 1, 2 or 5 times a power of ten", () => {
    expect([niceCeil(0.7), niceCeil(1), niceCeil(130), niceCeil(200), niceCeil(201), niceCeil(0)]).toEqual([1, 1, 200, 200, 500, 1]);
  });
});

describe("plotSvg", () => {
  it("draws one line per series through its finite points, and names each in the legend", () => {
    const svg = plotSvg("t", series);
    const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(" ").length);
    expect(lines).toEqual([3, 2]); // the NaN point of the second series is left out
    expect(svg).toContain(">LabBridge p50<");
    expect(svg).toContain(">BullMQ p50<");
    expect(svg).toContain('stroke-dasharray="6 4"');
  });

  it("uses a log scale when the latencies span more than twenty times, and a linear one otherwise", () => {
    expect(plotSvg("t", series)).toContain("log scale");
    expect(plotSvg("t", [{ name: "flat", color: "#000", points: [{ x: 1, y: 10 }, { x: 2, y: 30 }] }])).not.toContain("log scale");
  });
});

describe("svgToPng", () => {
  it("produces a PNG of the SVG's size", () => {
    const png = svgToPng(plotSvg("t", series));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // IHDR: width and height as big-endian 32-bit integers at bytes 16 and 20.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([720, 420]);
  });
});
