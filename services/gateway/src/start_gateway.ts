// Builds and starts one gateway: the process entry and the tests share this wiring.
import type { Config } from "@labbridge/config";
import { CLOSE_CODES } from "@labbridge/protocol";
import { logCountersEvery, Registry } from "@labbridge/metrics";
import { createContext, type Clock } from "@labbridge/runtime";
import { createObjectStorage } from "@labbridge/storage";
import { loadNativeUws } from "@labbridge/uws";
import { redisKeys } from "@labbridge/streams";
import type { Logger } from "@labbridge/logging";
import { AgentSessions, closeSocket } from "./agent_sessions.ts";
import { runCommandLoop } from "./command_loop.ts";
import { Admission } from "./admission.ts";
import { connectionLimits, PRUNE_EVERY_MS } from "./connection_limits.ts";
import { HelloQueue } from "./hello_queue.ts";
import type { GatewayContext } from "./gateway_context.ts";
import { startGatewayServer } from "./gateway_server.ts";
import { CredentialLookups } from "./credential_lookups.ts";
import { HeartbeatBatch } from "./heartbeat_batch.ts";
import { gatewayAliveTtlMs } from "./heartbeat_window.ts";
import { releaseSession } from "./release_session.ts";

/** A running gateway. */
export interface RunningGateway {
  ctx: GatewayContext;
  port: number;
  /** Tells agents to reconnect elsewhere, stops the command loop and closes everything. */
  close: () => Promise<void>;
}

/** Starts a gateway on config.gatewayPort (0 = any free port). */
export async function startGateway(config: Config, opts: { clock?: Clock; log?: Logger } = {}): Promise<RunningGateway> {
  const uws = loadNativeUws();
  // Every session renews its presence on each heartbeat: commands of one tick go as one write.
  const base = createContext("gateway", config, { ...opts, autoPipelining: true });
  const registry = new Registry();
  const log = base.log.child({ gateway_id: config.gatewayId });
  const ctx: GatewayContext = {
    ...base,
    log,
    gatewayId: config.gatewayId,
    sessions: new AgentSessions(),
    connectionLimits: connectionLimits(),
    credentials: new CredentialLookups(base.pool),
    heartbeats: new HeartbeatBatch(base.redis, redisKeys(config.prefix)),
    admission: new Admission({ maxAgents: config.gatewayMaxAgents, maxInFlight: config.gatewayAdmitInFlight }, log, base.clock),
    hellos: new HelloQueue(config.gatewayHelloInFlight),
    storage: createObjectStorage(config.storage, base.clock),
    metrics: {
      registry,
      received: registry.counter("lb_gateway_ws_received_bytes_total", "Bytes received from agents (frames and upgrades)"),
      sent: registry.counter("lb_gateway_ws_sent_bytes_total", "Bytes sent to agents and to HTTP callers"),
      connected: registry.gauge("lb_gateway_connected_agents", "Agents connected to this gateway"),
      logBytes: registry.counter("lb_gateway_log_frame_bytes_total", "Wire bytes of attempt.log frames received (part of the received bytes)"),
      logLines: registry.counter("lb_gateway_log_lines_total", "Live log lines forwarded to job-events"),
      logSkipped: registry.counter("lb_gateway_log_lines_skipped_total", "Live log lines the agents left out (their rate limit)"),
      heapUsed: registry.gauge("lb_gateway_heap_used_bytes", "V8 heap in use, read when scraped"),
      rss: registry.gauge("lb_gateway_rss_bytes", "Resident set of the process, read when scraped"),
    },
  };
  // While this process lives, its sessions count as held (presence.ts claim); killed, its
  // agents are let in elsewhere once the key runs out. A failed renewal is said once per run of failures.
  const aliveTtlMs = gatewayAliveTtlMs(config);
  let aliveFailing = false;
  const markAlive = () => ctx.presence.markGatewayAlive(config.gatewayId, aliveTtlMs).then(
    () => {
      if (aliveFailing) ctx.log.info({}, "gateway liveness renewed again");
      aliveFailing = false;
    },
    (err) => {
      if (!aliveFailing) ctx.log.warn({ err: (err as Error).message }, "gateway liveness not renewed: if it runs out, another gateway may take over this one's agents");
      aliveFailing = true;
    },
  );
  await markAlive();
  const keepAlive = setInterval(() => void markAlive(), aliveTtlMs / 4);
  keepAlive.unref();
  const server = await startGatewayServer(ctx, uws);
  const stopCounterLog = logCountersEvery(config.metricsLogSeconds, (f, m) => ctx.log.info(f, m), [ctx.metrics.received, ctx.metrics.sent, ctx.metrics.logBytes]);
  // Refilled connection buckets are the same as none: an agent that stays connected costs nothing there.
  const pruneLimits = setInterval(() => {
    const now = ctx.clock();
    ctx.connectionLimits.agentConnects.prune(now);
    ctx.connectionLimits.refusedCredentials.prune(now);
  }, PRUNE_EVERY_MS);
  pruneLimits.unref();
  const controller = new AbortController();
  const commands = runCommandLoop(ctx, controller.signal);
  ctx.log.info({ port: server.port, url: `ws://127.0.0.1:${server.port}`, prefix: config.prefix }, "gateway listening");
  return {
    ctx,
    port: server.port,
    close: async () => {
      // Stop listening first so no agent reconnects here, then send every agent away with
      // 1001 (it reconnects to the next gateway in its list at once), let the close
      // handlers record each disconnect, and only then stop delivering commands: an entry
      // in hand is delivered or left pending for this gateway id, never half-handled.
      server.close();
      clearInterval(pruneLimits);
      const sockets = ctx.sessions.all();
      // Each session is released first (in its own frame order), so another gateway lets
      // the agent in at once instead of refusing it as a second session of a healthy one.
      await Promise.allSettled(sockets.map((ws) => {
        const data = ws.getUserData();
        data.queue = data.queue.then(() => releaseSession(ctx, ws, CLOSE_CODES.going_away)).catch((err) =>
          ctx.log.warn({ agent_id: data.agent?.id, err: (err as Error).message }, "session not released before stopping")
        );
        return data.queue;
      }));
      clearInterval(keepAlive);
      await ctx.presence.markGatewayGone(config.gatewayId).catch(() => undefined);
      for (const ws of sockets) closeSocket(ws, CLOSE_CODES.going_away, "gateway stopping");
      await Promise.allSettled(sockets.map((ws) => ws.getUserData().queue));
      controller.abort();
      await commands.catch(() => undefined);
      stopCounterLog();
      ctx.log.info({ agents: sockets.length }, "gateway stopped");
      await base.close();
    },
  };
}
