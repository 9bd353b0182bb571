// The gateway process: holds agent WebSocket sessions (uWebSockets.js, native build
// only), turns agent frames into agent-events, and delivers its own command stream.
import { loadConfig } from "@labbridge/config";
import { CLOSE_CODES } from "@labbridge/protocol";
import { logCountersEvery, Registry } from "@labbridge/metrics";
import { createContext, supervise } from "@labbridge/runtime";
import { createObjectStorage } from "@labbridge/storage";
import { loadNativeUws } from "@labbridge/uws";
import { AgentSessions, closeSocket } from "./agent_sessions.ts";
import { runCommandLoop } from "./command_loop.ts";
import type { GatewayContext } from "./gateway_context.ts";
import { startGatewayServer } from "./gateway_server.ts";

const config = loadConfig();
const base = createContext("gateway", config);
let uws;
try {
  uws = loadNativeUws();
} catch (err) {
  base.log.fatal({ err: (err as Error).message }, "gateway cannot start");
  process.exit(1);
}

const registry = new Registry();
const ctx: GatewayContext = {
  ...base,
  log: base.log.child({ gateway_id: config.gatewayId }),
  gatewayId: config.gatewayId,
  sessions: new AgentSessions(),
  storage: createObjectStorage(config.storage),
  metrics: {
    registry,
    received: registry.counter("lb_gateway_ws_received_bytes_total", "Bytes received from agents (frames and upgrades)"),
    sent: registry.counter("lb_gateway_ws_sent_bytes_total", "Bytes sent to agents and to HTTP callers"),
    connected: registry.gauge("lb_gateway_connected_agents", "Agents connected to this gateway"),
  },
};

const server = await startGatewayServer(ctx, uws);
const stopCounterLog = logCountersEvery(config.metricsLogSeconds, (f, m) => ctx.log.info(f, m), [ctx.metrics.received, ctx.metrics.sent]);

supervise(ctx.log, [{ name: "commands", run: (signal) => runCommandLoop(ctx, signal) }], [
  // Tell agents to reconnect (to this or another gateway) before going away.
  () => ctx.sessions.all().forEach((ws) => closeSocket(ws, CLOSE_CODES.going_away, "gateway stopping")),
  () => server.close(),
  stopCounterLog,
  base.close,
]);

ctx.log.info({ port: server.port, url: `ws://127.0.0.1:${server.port}`, prefix: config.prefix }, "gateway listening");
