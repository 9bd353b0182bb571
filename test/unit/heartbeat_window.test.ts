import { describe, expect, it } from "vitest";
import { heartbeatWindow, socketIdleTimeoutSeconds } from "../../services/gateway/src/heartbeat_window.ts";

// The gateway's per-session heartbeat window (decision 0028) at the production defaults.
const config = { heartbeatSeconds: 5, idleHeartbeatSeconds: 15, leaseTtlSeconds: 30 };

describe("heartbeatWindow", () => {
  it("a session naming no attempt beats every idle interval and its presence lasts three of them", () => {
    expect(heartbeatWindow(config, [])).toEqual({ intervalMs: 15_000, presenceTtlMs: 45_000 });
  });

  it("a session naming any attempt beats every busy interval and its presence lasts the lease TTL", () => {
    expect(heartbeatWindow(config, ["att_1"])).toEqual({ intervalMs: 5_000, presenceTtlMs: 30_000 });
  });

  it("an idle presence is never shorter than the lease TTL", () => {
    expect(heartbeatWindow({ ...config, idleHeartbeatSeconds: 5 }, []).presenceTtlMs).toBe(30_000);
  });
});

describe("socketIdleTimeoutSeconds", () => {
  it("follows three of the longest interval, so an idle socket is not cut between beats", () => {
    expect(socketIdleTimeoutSeconds(config)).toBe(45);
    expect(socketIdleTimeoutSeconds({ heartbeatSeconds: 0.5, idleHeartbeatSeconds: 1.5 })).toBe(8);
  });
});
