import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { retryAfterOf as fromProtocol, retryAfterReason } from "@labbridge/protocol";
import { K6_CONSTANTS_FILE, k6ConstantsSource } from "../../scripts/k6_constants.ts";
import { retryAfterOf as fromK6 } from "../../loadtest/k6/protocol_constants.ts";

// The k6 scenarios carry their own copy of the protocol's constants (k6 runs them without
// our packages): generated from packages/protocol, and checked here to be current.

describe("loadtest/k6/protocol_constants.ts", () => {
  it("is what scripts/k6_constants.ts generates from the protocol now (run it after a protocol change)", async () => {
    expect(readFileSync(K6_CONSTANTS_FILE, "utf8")).toBe(await k6ConstantsSource());
  });

  it("reads a retry hint as the protocol does", () => {
    for (const ms of [0, 250, 12_345, 10 ** 7]) expect(fromK6(retryAfterReason(ms))).toBe(fromProtocol(retryAfterReason(ms)));
    expect(fromK6("gateway stopping")).toBeNull();
  });
});
