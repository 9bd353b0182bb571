import { describe, expect, it } from "vitest";
import { busyUpgrade, enrollUpgrade } from "../../services/gateway/src/authenticate_upgrade.ts";
import type { GatewayContext } from "../../services/gateway/src/gateway_context.ts";

// The uWS user data of a socket stays small enough for V8 to keep the socket object compact.
// uWS copies each of its properties onto its socket object; with more than 15 there, V8
// turns that object into a hash table (about 830 bytes a socket, measured with
// %HasFastProperties and a heap snapshot on uWS 20.30 and Node 20).

const ctx = { config: { heartbeatSeconds: 5 } } as GatewayContext;

describe("socket user data", () => {
  it("has at most 15 properties at the upgrade, whatever the kind of socket (an agent's has the same as these)", () => {
    for (const data of [busyUpgrade(ctx, "127.0.0.1", 1000), enrollUpgrade(ctx, "Bearer lbe_x", "127.0.0.1")]) {
      expect(Object.keys(data).length, Object.keys(data).join(", ")).toBeLessThanOrEqual(15);
    }
  });
});
