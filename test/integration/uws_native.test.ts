// The gateway and API must run on the native uWebSockets.js build: the npm repackage
// silently falls back to a `ws` emulation, which would hold a fraction of the agents.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { startApi } from "@labbridge/api";
import { loadNativeUws, nativeBinaryPath } from "@labbridge/uws";
import { createTestEnv } from "../harness/test_env.ts";

const ROOT = join(import.meta.dirname, "..", "..");

describe("uWebSockets.js", () => {
  it("loads the native binary for this Node", () => {
    const uws = loadNativeUws();
    expect(nativeBinaryPath()).toMatch(new RegExp(`uws_${process.platform}_${process.arch}_${process.versions.modules}\\.node$`));
    expect(typeof (uws as unknown as { us_socket_local_port: unknown }).us_socket_local_port).toBe("function");
  });

  it("the gateway refuses to start on the ws fallback, with a clear message", () => {
    const env = fallbackEnv();
    const res = spawnSync(process.execPath, ["--import", "tsx", "services/gateway/src/main.ts"], {
      cwd: ROOT, env: { ...process.env, ...env, UWS_USE_FALLBACK: "1" }, encoding: "utf8", timeout: 30_000,
    });
    expect(res.status).toBe(1);
    expect(res.stdout + res.stderr).toContain("Refusing to start on the uWebSockets.js ws fallback");
  });
});

// The refusal happens before any connection is made, so no database is needed.
function fallbackEnv(): Record<string, string> {
  return { LB_GATEWAY_PORT: "0", LB_PREFIX: "uws-fallback-test", LB_LOG_LEVEL: "info" };
}

describe("byte counters in the logs", () => {
  it("the API logs its received and sent byte counters at info on its interval", async () => {
    const env = await createTestEnv({ LB_METRICS_LOG_SECONDS: "0.2" });
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
    const api = await startApi(env.config, { log: pino({ level: "info" }, sink) });
    try {
      await fetch(`http://127.0.0.1:${api.port}/healthz`);
      await new Promise((r) => setTimeout(r, 500));
      const counters = lines.filter((l) => l.msg === "byte counters");
      expect(counters.length).toBeGreaterThanOrEqual(1);
      const last = counters.at(-1)!;
      expect(last.level).toBe(30);
      expect(last.lb_api_http_received_bytes_total).toBeGreaterThan(0);
      expect(last.lb_api_http_sent_bytes_total).toBeGreaterThan(0);
    } finally {
      await api.close();
      await env.cleanup();
    }
  });
});
