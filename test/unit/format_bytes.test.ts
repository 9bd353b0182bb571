import { describe, expect, it } from "vitest";
import { bytes } from "@labbridge/format";

// One size format for the dashboard and lb: binary units, so the sizes LabBridge sets read round.

describe("bytes for people", () => {
  it("reads under 1 KiB as whole bytes", () => {
    expect(bytes(0)).toBe("0 B");
    expect(bytes(10)).toBe("10 B");
    expect(bytes(1023)).toBe("1023 B");
  });

  it("reads larger sizes in binary units with one decimal", () => {
    expect(bytes(1024)).toBe("1.0 KiB");
    expect(bytes(1.5 * 1024 ** 2)).toBe("1.5 MiB");
    expect(bytes(64 * 1024 ** 2)).toBe("64.0 MiB");
    expect(bytes(5 * 1024 ** 3)).toBe("5.0 GiB");
    expect(bytes(1_500_000)).toBe("1.4 MiB");
  });

  it("stops at the largest unit rather than running out of names", () => {
    expect(bytes(2 * 1024 ** 6)).toBe("2048.0 PiB");
  });
});
