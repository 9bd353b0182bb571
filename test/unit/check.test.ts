import { describe, expect, it } from "vitest";
import { hasLoneSurrogate, loneSurrogateField, unknownFieldProblems } from "@labbridge/protocol";

describe("hasLoneSurrogate", () => {
  it("finds a high or low surrogate that is not half of a pair, and nothing in a pair", () => {
    for (const s of ["\ud800", "a\udc00", "\udbff\ud800", "x\udfff"]) expect(hasLoneSurrogate(s), JSON.stringify(s)).toBe(true);
    for (const s of ["", "abc", "🚀", "é€", "\ud83d\ude80"]) expect(hasLoneSurrogate(s), s).toBe(false);
  });
});

describe("loneSurrogateField", () => {
  it("names the field of the first string, key or value, holding a lone surrogate", () => {
    expect(loneSurrogateField({ a: ["ok", "b\ud800"] })).toBe("a[1]");
    expect(loneSurrogateField({ env: { ["K\udc00"]: "v" } })).toBe("env.K\udc00");
    expect(loneSurrogateField("\ud800")).toBe("");
    expect(loneSurrogateField({ a: 1, b: [null, true, { c: "🚀" }] })).toBeNull();
  });

  it("walks a deeply nested value without running out of stack", () => {
    let deep: unknown = "\ud800";
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(loneSurrogateField(deep)).toBe("[0]".repeat(100_000));
  });
});

describe("unknownFieldProblems", () => {
  it("names each field not known, under the prefix, as unknown_field", () => {
    expect(unknownFieldProblems({ a: 1, b: 2, c: 3 }, ["a"], "x.")).toEqual([
      { field: "x.b", reason: "is not a known field: expected one of a", code: "unknown_field" },
      { field: "x.c", reason: "is not a known field: expected one of a", code: "unknown_field" },
    ]);
    expect(unknownFieldProblems({ a: 1 }, ["a", "b"])).toEqual([]);
  });
});
