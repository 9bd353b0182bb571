// The comparison servers of the connection table: the same agents held by a plain `ws`
// server (what most Node WebSocket services run) and by a bare uWebSockets.js server (the
// floor: uWS with nothing per connection). Each answers hello with a welcome and every
// heartbeat with its ack, and keeps nothing else, so the difference to the gateway is what
// LabBridge's sessions cost. The welcome announces the gateway's own intervals (busy and idle
// heartbeat, lease TTL), read from the same LB_* variables with the same defaults, so the
// fleet beats as often on a baseline as on the gateway. Prints `{"msg":"baseline listening","port":N}` when ready.
//   node --import tsx baseline_server.ts ws|uws
import { WebSocketServer } from "ws";
import { loadConfig } from "@labbridge/config";
import type { WelcomeMessage } from "@labbridge/protocol";
import { listen, loadNativeUws } from "@labbridge/uws";

const kind = process.argv[2];
const config = loadConfig();
const WELCOME = JSON.stringify({
  type: "welcome", agent_id: "agt_baseline", session_id: "ses_baseline",
  heartbeat_seconds: config.heartbeatSeconds, idle_heartbeat_seconds: config.idleHeartbeatSeconds, lease_ttl_seconds: config.leaseTtlSeconds, compression: null,
} satisfies WelcomeMessage);
const ACK = '{"type":"heartbeat.ack"}';
const reply = (text: string) => (text.includes('"hello"') ? WELCOME : ACK);

if (kind === "ws") {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, clientTracking: false });
  server.on("connection", (ws) => {
    ws.on("message", (data: Buffer) => ws.send(reply(data.toString())));
    ws.on("error", () => undefined);
  });
  server.on("listening", () => console.log(JSON.stringify({ msg: "baseline listening", port: (server.address() as { port: number }).port })));
} else if (kind === "uws") {
  const uws = loadNativeUws();
  const app = uws.App();
  // Closes a connection after three idle intervals of quiet (never under the 60 s it always had).
  app.ws("/*", { idleTimeout: Math.max(60, Math.ceil(3 * config.idleHeartbeatSeconds)), message: (ws, message) => void ws.send(reply(Buffer.from(message).toString())) });
  const { port } = await listen(uws, app, "127.0.0.1", 0);
  console.log(JSON.stringify({ msg: "baseline listening", port }));
} else {
  throw new Error(`Unknown baseline server "${kind ?? ""}": expected ws or uws`);
}
