// The agent's one long-lived connection to a gateway: connect, hello, welcome, then
// dispatch frames until the socket drops; reconnect, to the next gateway of the list
// (reconnect_policy.ts), with exponential backoff and full jitter. Running attempts never
// depend on this loop staying connected.
//
// Close codes: 4401 (unauthorized) and 4403 (revoked) end the loop for good: retrying a
// refused credential would only hammer the gateways. 4409 after a session (replaced) means
// another process uses this identity, so we wait the longest backoff step before trying
// again; 4409 at hello (our old session still looks healthy) and 4429 (rate limited) back off. 1001/1012
// after a healthy session (a gateway stopping or restarting) reconnect to the next gateway
// after a short jitter only, so a planned gateway stop costs its agents well under a second.
//
// Liveness: the gateway answers every heartbeat. A session that hears nothing for
// `silenceHeartbeats` of the intervals in use (busy or idle: silence_alarm.ts) is treated
// as dead (a half-open connection after a NAT, Wi-Fi or captive-portal drop, which TCP
// alone may take many minutes to notice) and the agent reconnects, so a short network cut
// does not outlive the lease.
import { CLOSE_CODES, type HelloMessage, type ServerMessage } from "../../../packages/protocol/src/index.ts";
import { FRAME_COMPRESSION } from "../../../packages/protocol/src/frame_codec.ts";
import { Backoff } from "./backoff.ts";
import { clockSkewMs, skewWarning } from "./clock_skew.ts";
import { classifyConnectFailure, ConnectionStatus, NEEDS_A_PERSON, type PortalProbe, probeForPortal, worthProbing } from "./connection_status.ts";
import { type CloseInfo, ConnectError, FrameSocket } from "./frame_socket.ts";
import { heartbeatLoop, intervalInUse } from "./heartbeat_loop.ts";
import { armSilenceAlarm } from "./silence_alarm.ts";
import type { TelemetryFields } from "../telemetry/telemetry.ts";
import { errorText, type Logger } from "../runtime/log.ts";
import { capWhileHolding, delayAfterSession, GatewayRotation } from "./reconnect_policy.ts";
import type { Session, SessionHub } from "./session_hub.ts";
import { deferred, sleep, withTimeout } from "../runtime/timers.ts";

export interface ConnectionLoopOptions {
  /** `/v1/agent` URLs of the gateways, tried round robin from a random start. */
  urls: string[];
  credential: string;
  log: Logger;
  hub: SessionHub;
  /** Builds hello; `restarted` is true until this process got its first welcome. */
  hello: (restarted: boolean) => HelloMessage;
  /** Attempt ids held now, for heartbeats. */
  running: () => string[];
  /** Telemetry fields of the next heartbeat (only what changed); none when absent. */
  telemetry?: () => TelemetryFields;
  /** Every frame after welcome. */
  onMessage: (msg: ServerMessage) => void;
  backoff: Backoff;
  connectTimeoutMs?: number;
  welcomeTimeoutMs?: number;
  /** Heartbeat intervals (of the one in use, busy or idle) without any frame from the gateway before the session counts as dead. */
  silenceHeartbeats?: number;
  /** Uniform [0, 1): picks the first gateway and jitters heartbeats and go-away reconnects. */
  random?: () => number;
  /** Where the loop keeps what it knows of the network (status, doctor, the control endpoint read it). */
  status?: ConnectionStatus;
  /**
   * Delays while the network needs a person (captive portal, untrusted TLS, proxy credentials):
   * slower than `backoff`, since retrying fast cannot help and only fills the log.
   */
  personBackoff?: Backoff;
  /** The plain GET that tells a captive portal's page from a gateway; injectable for tests. */
  probe?: (url: string) => Promise<PortalProbe | null>;
  clock?: () => number;
}

/** Default delays while a person must act on the network: 5 s growing to 5 min. */
export const PERSON_BACKOFF = { baseMs: 5_000, capMs: 300_000 };

/** Close code the agent uses when it gives up on a silent gateway (4000–4999: application). */
export const SILENT_GATEWAY_CLOSE = 4008;

export type ConnectionEnd = { kind: "stopped" } | { kind: "rejected"; code: number; reason: string };

/**
 * A server interval in ms. The envelope parser does not check welcome's numbers, and a NaN
 * or zero interval would turn the heartbeat loop into a flood, so odd values fall back.
 */
function secondsToMs(v: unknown, fallbackSeconds: number, minSeconds: number): number {
  const s = typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.max(v, minSeconds) : fallbackSeconds;
  return s * 1000;
}

/**
 * The idle interval in ms: `heartbeat_seconds` where welcome has none (an older gateway) or
 * an odd one, and never shorter than the busy interval (the idle beat exists to beat less).
 */
function idleMs(v: unknown, heartbeatMs: number): number {
  return typeof v === "number" && Number.isFinite(v) && v * 1000 > heartbeatMs ? v * 1000 : heartbeatMs;
}

const isRefusal = (code: number) => code === CLOSE_CODES.unauthorized || code === CLOSE_CODES.revoked;

/** What outlives one session: whether this process was welcomed yet, and the last lease TTL announced. */
interface SessionState {
  restarted: boolean;
  leaseTtlMs: number | null;
}

async function looksLikePortal(probe: (url: string) => Promise<PortalProbe | null>, url: string): Promise<boolean> {
  const seen = await probe(url);
  return seen?.contentType?.toLowerCase().includes("text/html") ?? false;
}

/** Runs until `signal` aborts (closing with 1000) or a gateway refuses the credential. */
export async function connectionLoop(opts: ConnectionLoopOptions, signal: AbortSignal): Promise<ConnectionEnd> {
  const { log, backoff } = opts;
  const random = opts.random ?? Math.random;
  const gateways = new GatewayRotation(opts.urls, random);
  const state: SessionState = { restarted: true, leaseTtlMs: null };
  const network = opts.status ?? new ConnectionStatus(opts.clock);
  const personBackoff = opts.personBackoff ?? new Backoff({ ...PERSON_BACKOFF, random });
  const probe = opts.probe ?? ((u: string) => probeForPortal(u, opts.connectTimeoutMs ?? 15_000));
  while (!signal.aborted) {
    const url = gateways.current();
    let sock: FrameSocket;
    try {
      sock = await FrameSocket.connect(url, opts.credential, log, { signal, timeoutMs: opts.connectTimeoutMs ?? 15_000 });
    } catch (e) {
      if (signal.aborted) break;
      const status = e instanceof ConnectError ? e.httpStatus : null;
      // A refused credential ends the loop, but a captive portal may answer 401/403 to
      // everything: only a non-HTML answer is the gateway's own refusal.
      if ((status === 401 || status === 403) && !(await looksLikePortal(probe, url))) {
        return { kind: "rejected", code: status === 401 ? CLOSE_CODES.unauthorized : CLOSE_CODES.revoked, reason: `gateway answered HTTP ${status}` };
      }
      const error = errorText(e);
      const reading = classifyConnectFailure(error, new URL(url).host, worthProbing(error) ? await probe(url) : null);
      const slow = NEEDS_A_PERSON.has(reading.state);
      const raw = slow ? Math.max(personBackoff.next(), backoff.next()) : backoff.next();
      const delay = capWhileHolding(raw, opts.running().length > 0, state.leaseTtlMs);
      const fields = { url, state: reading.state, reason: reading.message, fix: reading.fix, error, retry_in_ms: delay, next_url: gateways.advance() };
      // A warning when the network's state changes; the same failure again is a debug line,
      // so a night behind a captive portal is two warnings, not thousands.
      if (network.failed(url, reading)) log.warn("cannot reach gateway", fields);
      else log.debug("cannot reach gateway", { ...fields, failures: network.current.failures });
      await sleep(delay, signal);
      continue;
    }

    const { close, welcomed } = await runSession(sock, url, opts, state, signal, network);
    network.disconnected();
    if (welcomed) personBackoff.reset();
    if (signal.aborted) break;
    if (isRefusal(close.code)) return { kind: "rejected", code: close.code, reason: close.reason };
    const delay = capWhileHolding(delayAfterSession(close, welcomed, backoff, random), opts.running().length > 0, state.leaseTtlMs);
    log.warn("disconnected from gateway", { url, code: close.code, reason: close.reason, retry_in_ms: delay, next_url: gateways.advance() });
    await sleep(delay, signal);
  }
  return { kind: "stopped" };
}

/** One connection's life; `welcomed` says whether it became a session. */
async function runSession(
  sock: FrameSocket,
  url: string,
  opts: ConnectionLoopOptions,
  state: SessionState,
  signal: AbortSignal,
  network: ConnectionStatus,
): Promise<{ close: CloseInfo; welcomed: boolean }> {
  const clock = opts.clock ?? Date.now;
  const { log } = opts;
  const sessionStop = new AbortController();
  const stopOnAbort = () => sessionStop.abort();
  signal.addEventListener("abort", stopOnAbort, { once: true });
  // The session counts as ended once this loop lets go of it, not only when the socket
  // reports closed: after the agent closes a half-open connection, the close event can
  // take as long as TCP needs to give up (many minutes), and reports, start requests and
  // presign requests waiting on `ended` must move to the next session at once.
  const ended = deferred<void>();
  sock.closed.then(() => ended.resolve());
  const unacknowledged = { code: 1006, reason: "close not acknowledged" };
  try {
    const helloSentAt = clock();
    if (!sock.send({ ...opts.hello(state.restarted), clock_ms: Math.round(helloSentAt) })) {
      sock.close(1000, "hello not sent");
      return { close: await withTimeout(sock.closed, 2_000, unacknowledged), welcomed: false };
    }
    const welcome = await awaitWelcome(sock, opts, sessionStop.signal);
    if (!welcome) {
      sock.close(1000, signal.aborted ? "agent stopping" : "no welcome");
      return { close: await withTimeout(sock.closed, 2_000, unacknowledged), welcomed: false };
    }
    state.restarted = false;
    opts.backoff.reset();
    const skew = clockSkewMs(helloSentAt, clock(), welcome.server_time_ms);
    const after = network.connected(url, welcome.session_id, skew);
    if (after !== null && after !== "unreachable") log.info("network is clear again", { url, was: after });
    const skewText = skewWarning(skew);
    if (skewText) log.warn(skewText, { clock_skew_ms: skew });
    // Offered in hello (agent.ts); from here both sides may send large frames deflated.
    sock.compress = welcome.compression === FRAME_COMPRESSION;
    const heartbeatMs = secondsToMs(welcome.heartbeat_seconds, 30, 0.05);
    const session: Session = {
      id: welcome.session_id,
      agentId: welcome.agent_id,
      heartbeatMs,
      idleHeartbeatMs: idleMs(welcome.idle_heartbeat_seconds, heartbeatMs),
      leaseTtlMs: secondsToMs(welcome.lease_ttl_seconds, 90, 0.1),
      send: (msg) => sock.send(msg),
      ended: ended.promise,
      isLive: () => sock.isOpen,
      bufferedAmount: () => sock.bufferedAmount,
    };
    state.leaseTtlMs = session.leaseTtlMs;
    log.info("connected to gateway", {
      url,
      session_id: session.id,
      heartbeat_seconds: welcome.heartbeat_seconds,
      // null: an older gateway announced none, so heartbeat_seconds applies throughout.
      idle_heartbeat_seconds: welcome.idle_heartbeat_seconds ?? null,
      lease_ttl_seconds: welcome.lease_ttl_seconds,
      clock_skew_ms: skew,
    });
    opts.hub.open(session);
    const beats = heartbeatLoop({ session, running: opts.running, telemetry: opts.telemetry, random: opts.random }, sessionStop.signal);
    const silence = {
      intervalMs: () => intervalInUse(session, opts.running().length > 0),
      heartbeats: opts.silenceHeartbeats ?? 3,
      now: () => performance.now(),
    };
    let silent = false;
    while (true) {
      const quiet = armSilenceAlarm(silence);
      const msg = await sock.receive(AbortSignal.any([sessionStop.signal, quiet.signal])).finally(() => quiet.dispose());
      if (!msg) {
        if (quiet.signal.aborted && !sessionStop.signal.aborted && sock.isOpen) {
          log.warn("gateway silent, reconnecting", { url, silent_ms: Math.round(quiet.limitMs()), session_id: session.id });
          sock.close(SILENT_GATEWAY_CLOSE, "gateway silent");
          // A path that lost our frames will not carry the close handshake either: waiting
          // for it would only delay the move to the next gateway.
          silent = true;
        }
        break;
      }
      try {
        opts.onMessage(msg);
      } catch (e) {
        log.error("failed to handle a gateway frame", { type: msg.type, error: errorText(e) });
      }
    }
    sessionStop.abort();
    await beats;
    if (signal.aborted) sock.close(CLOSE_CODES.normal, "agent stopping");
    if (silent) return { close: { code: SILENT_GATEWAY_CLOSE, reason: "gateway silent" }, welcomed: true };
    return { close: await withTimeout(sock.closed, 2_000, unacknowledged), welcomed: true };
  } finally {
    ended.resolve();
    sessionStop.abort();
    signal.removeEventListener("abort", stopOnAbort);
  }
}

/** Reads frames until `welcome`; logs an `error` frame (the close that follows says why we stop). */
async function awaitWelcome(sock: FrameSocket, opts: ConnectionLoopOptions, signal: AbortSignal) {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), opts.welcomeTimeoutMs ?? 30_000);
  const both = AbortSignal.any([signal, timeout.signal]);
  try {
    while (true) {
      const msg = await sock.receive(both);
      if (!msg) {
        if (timeout.signal.aborted) opts.log.warn("gateway sent no welcome in time");
        return null;
      }
      if (msg.type === "welcome") return msg;
      if (msg.type === "error") opts.log.error("gateway refused hello", { code: msg.code, message: msg.message });
      else opts.log.warn("ignored a frame before welcome", { type: msg.type });
    }
  } finally {
    clearTimeout(timer);
  }
}
