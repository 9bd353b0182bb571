import { describe, expect, it } from "vitest";
import { DEFAULT_PART_BYTES, MAX_PART_BYTES, MAX_PARTS, partCount, partRange, planPartSize } from "@labbridge/protocol";

describe("planPartSize", () => {
  it("sends a file up to the part size in one PUT", () => {
    expect(planPartSize(0, DEFAULT_PART_BYTES)).toBe(0);
    expect(planPartSize(DEFAULT_PART_BYTES, DEFAULT_PART_BYTES)).toBe(0);
  });

  it("cuts a 6 GiB file into 96 parts of 64 MiB", () => {
    const size = 6 * 1024 ** 3;
    expect(planPartSize(size, DEFAULT_PART_BYTES)).toBe(DEFAULT_PART_BYTES);
    expect(partCount(size, DEFAULT_PART_BYTES)).toBe(96);
  });

  it("grows the parts when 10,000 of the configured size would not hold the file", () => {
    const size = 1024 ** 4; // 1 TiB: 16,384 parts of 64 MiB
    const part = planPartSize(size, DEFAULT_PART_BYTES);
    expect(partCount(size, part)).toBeLessThanOrEqual(MAX_PARTS);
    expect(part % 1024 ** 2).toBe(0);
    expect(planPartSize(MAX_PARTS * MAX_PART_BYTES, DEFAULT_PART_BYTES)).toBe(MAX_PART_BYTES);
  });

  it("gives the last part what is left", () => {
    expect(partRange(3, 100, 250)).toEqual({ start: 200, end: 250 });
  });
});
