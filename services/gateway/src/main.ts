// The gateway process: holds agent WebSocket sessions (uWebSockets.js, native build
// only), turns agent frames into agent-events, and delivers its own command stream.
import "./memory_mode.ts";
import { loadConfig } from "@labbridge/config";
import { createLogger } from "@labbridge/logging";
import { startUntilSignal } from "@labbridge/runtime";
import { startGateway } from "./start_gateway.ts";

const config = loadConfig();
const log = createLogger("gateway", config.logLevel);
try {
  await startUntilSignal(log, () => startGateway(config, { log }));
} catch (err) {
  log.fatal({ err: (err as Error).message }, "gateway cannot start");
  process.exit(1);
}
