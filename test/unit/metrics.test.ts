import { describe, expect, it } from "vitest";
import { Registry } from "@labbridge/metrics";
import { idTimeMs, newId } from "@labbridge/protocol";

describe("Registry histograms and gauge sets", () => {
  it("a histogram counts each observation in every bucket at or above it, with sum and count", () => {
    const registry = new Registry();
    const h = registry.histogram("lb_x_seconds", "x", [0.1, 1]);
    h.observe(0.05);
    h.observe(0.5);
    h.observe(3);
    expect(registry.render()).toContain(
      ['lb_x_seconds_bucket{le="0.1"} 1', 'lb_x_seconds_bucket{le="1"} 2', 'lb_x_seconds_bucket{le="+Inf"} 3', "lb_x_seconds_sum 3.55", "lb_x_seconds_count 3"].join("\n"),
    );
  });

  it("a gauge set drops the label sets a refresh no longer gives", () => {
    const registry = new Registry();
    const g = registry.gaugeSet("lb_jobs", "jobs");
    g.replace([{ labels: { state: "PENDING" }, value: 2 }, { labels: { state: "RUNNING" }, value: 1 }]);
    g.replace([{ labels: { state: "RUNNING" }, value: 3 }]);
    expect(registry.render()).toContain('lb_jobs{state="RUNNING"} 3');
    expect(registry.render()).not.toContain("PENDING");
  });
});

describe("idTimeMs", () => {
  it("reads back the time newId wrote into an id, and null for anything else", () => {
    const t = Date.UTC(2025, 0, 1, 12, 0, 0, 123);
    expect(idTimeMs(newId("job_", t))).toBe(t);
    expect(idTimeMs("job_not-an-id")).toBeNull();
  });
});
