// The gateway's uWebSockets.js server: agent sessions on /v1/agent, enrollment on
// /v1/enroll, and /healthz, /readyz, /metrics on the same port.
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t } from "uWebSockets.js";
import { listen, type UwsModule } from "@labbridge/uws";
import { checkReadiness } from "@labbridge/runtime";
import type { AgentSocket, SocketData } from "./agent_sessions.ts";
import type { Ticket } from "./admission.ts";
import { authenticateAgentUpgrade, busyUpgrade, enrollUpgrade } from "./authenticate_upgrade.ts";
import type { GatewayContext } from "./gateway_context.ts";
import { socketIdleTimeoutSeconds } from "./heartbeat_window.ts";
import { onClose, onMessage, onOpen, UWS_MAX_PAYLOAD } from "./socket_handlers.ts";

function upgradeWith(ctx: GatewayContext, authenticate: (authorization: string, remoteAddress: string) => Promise<SocketData>, admit: boolean) {
  return (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => {
    const authorization = req.getHeader("authorization");
    const key = req.getHeader("sec-websocket-key");
    const protocol = req.getHeader("sec-websocket-protocol");
    const extensions = req.getHeader("sec-websocket-extensions");
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
    ctx.metrics.received.inc(authorization.length + key.length + protocol.length + extensions.length + 128);
    // Before any lookup: a refused upgrade costs neither MySQL nor Redis. An admitted one
    // holds its in-flight place until its lookup is answered, not until its hello (admission.ts).
    let ticket: Ticket | null = null;
    if (admit) {
      const admitted = ctx.admission.admit();
      if (!("answered" in admitted)) {
        res.cork(() => res.upgrade(busyUpgrade(ctx, remoteAddress, admitted.retryAfterMs), key, protocol, extensions, context));
        return;
      }
      ticket = admitted;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
      ticket?.done();
    });
    authenticate(authorization, remoteAddress)
      .catch((err): SocketData => {
        ctx.log.warn({ err: (err as Error).message }, "upgrade authentication failed");
        throw err;
      })
      .then(
        (data) => {
          ticket?.answered();
          // uWS opens the socket within upgrade(), in this same turn: from then on onOpen and onClose count it.
          ticket?.done();
          if (!aborted) res.cork(() => res.upgrade(data, key, protocol, extensions, context));
        },
        () => {
          ticket?.answered();
          ticket?.done();
          if (!aborted) res.cork(() => res.writeStatus("503 Service Unavailable").end('{"error":{"code":"unavailable","message":"Try again","details":{}}}'));
        },
      );
  };
}

function serviceEndpoints(ctx: GatewayContext, app: TemplatedApp): void {
  const reply = (res: HttpResponse, status: string, contentType: string, body: string) => {
    ctx.metrics.sent.inc(body.length);
    res.cork(() => res.writeStatus(status).writeHeader("content-type", contentType).end(body));
  };
  app.get("/healthz", (res) => reply(res, "200 OK", "application/json", '{"ok":true}'));
  app.get("/metrics", (res) => {
    // Read when scraped: what the memory per agent is made of (JS heap, or native: uWS, buffers).
    const mem = process.memoryUsage();
    ctx.metrics.heapUsed.set(mem.heapUsed);
    ctx.metrics.rss.set(mem.rss);
    reply(res, "200 OK", "text/plain; version=0.0.4", ctx.metrics.registry.render());
  });
  app.get("/readyz", (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void checkReadiness(ctx).then((r) => {
      if (!aborted) reply(res, r.ready ? "200 OK" : "503 Service Unavailable", "application/json", JSON.stringify(r));
    });
  });
  app.any("/*", (res) => reply(res, "404 Not Found", "application/json", '{"error":{"code":"not_found","message":"Not found","details":{}}}'));
}

/** Starts the server; returns the port it listens on and a function that stops it. */
export async function startGatewayServer(ctx: GatewayContext, uws: UwsModule): Promise<{ port: number; close: () => void }> {
  const app = uws.App();
  const behavior = {
    maxPayloadLength: UWS_MAX_PAYLOAD,
    idleTimeout: socketIdleTimeoutSeconds(ctx.config),
    maxBackpressure: 1024 * 1024,
    sendPingsAutomatically: true,
    open: (ws: AgentSocket) => onOpen(ctx, ws),
    message: (ws: AgentSocket, message: ArrayBuffer, isBinary: boolean) => onMessage(ctx, ws, message, isBinary),
    close: (ws: AgentSocket, code: number) => onClose(ctx, ws, code),
  };
  app.ws<SocketData>("/v1/agent", { ...behavior, upgrade: upgradeWith(ctx, (a, r) => authenticateAgentUpgrade(ctx, a, r), true) });
  app.ws<SocketData>("/v1/enroll", { ...behavior, upgrade: upgradeWith(ctx, async (a, r) => enrollUpgrade(ctx, a, r), false) });
  serviceEndpoints(ctx, app);
  return listen(uws, app, ctx.config.host, ctx.config.gatewayPort);
}
