import { describe, expect, it } from "vitest";
import { query } from "../../web/src/api/client.ts";
import { ago, argvLine, memory } from "../../web/src/format.ts";

// The dashboard's pure helpers: how times, sizes and commands read, and which filters reach the API.

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const at = (secondsFromNow: number) => new Date(NOW + secondsFromNow * 1000).toISOString();

describe("dashboard formatting", () => {
  it("times read relative to now, in the largest whole unit", () => {
    expect(ago(at(-2), NOW)).toBe("just now");
    expect(ago(at(-42), NOW)).toBe("42 seconds ago");
    expect(ago(at(-180), NOW)).toBe("3 minutes ago");
    expect(ago(at(-7200), NOW)).toBe("2 hours ago");
    expect(ago(at(-86_400), NOW)).toBe("yesterday");
    expect(ago(at(3600), NOW)).toBe("in 1 hour");
    expect(ago(null, NOW)).toBe("—");
  });

  it("GPU memory reads in GiB from the MiB the agent reports", () => {
    expect(memory(20100, 24564)).toBe("19.6 / 24.0 GiB");
    expect(memory(null, 24564)).toBe("? / 24.0 GiB");
    expect(memory(100, null)).toBe("—");
  });

  it("a command shows as one line a shell would split back into the same argv", () => {
    expect(argvLine(["python", "train.py", "--epochs", "3"])).toBe("python train.py --epochs 3");
    expect(argvLine(["sh", "-c", "echo it's done", ""])).toBe(`sh -c 'echo it'\\''s done' ''`);
  });

  it("only the filters that are set go into the query string", () => {
    expect(query({ state: "RUNNING", owner: "", cursor: null, limit: 50 })).toBe("?state=RUNNING&limit=50");
    expect(query({ state: "", owner: undefined })).toBe("");
    expect(query({ owner: "a&b=c" })).toBe("?owner=a%26b%3Dc");
  });
});
