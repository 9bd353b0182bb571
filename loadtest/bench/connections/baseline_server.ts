// The comparison servers of the connection table: the same agents held by a plain `ws`
// server (what most Node WebSocket services run) and by a bare uWebSockets.js server (the
// floor: uWS with nothing per connection). Each answers hello with a welcome and every
// heartbeat with its ack, and keeps nothing else, so the difference to the gateway is what
// LabBridge's sessions cost. Prints `{"msg":"baseline listening","port":N}` when ready.
//   node --import tsx baseline_server.ts ws|uws
import { WebSocketServer } from "ws";
import { listen, loadNativeUws } from "@labbridge/uws";

const kind = process.argv[2];
const WELCOME = JSON.stringify({ type: "welcome", agent_id: "agt_baseline", session_id: "ses_baseline", heartbeat_seconds: 5, lease_ttl_seconds: 30, compression: null });
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
  app.ws("/*", { idleTimeout: 60, message: (ws, message) => void ws.send(reply(Buffer.from(message).toString())) });
  const { port } = await listen(uws, app, "127.0.0.1", 0);
  console.log(JSON.stringify({ msg: "baseline listening", port }));
} else {
  throw new Error(`Unknown baseline server "${kind ?? ""}": expected ws or uws`);
}
