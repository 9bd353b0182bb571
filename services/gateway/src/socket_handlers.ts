// uWS socket callbacks: check every frame at the edge (size, schema, the session's rate
// limit for its type), run each session's frames in order, and turn a closed socket into
// an `agent.offline` event (fenced on its session).
import { CLOSE_CODES, describeProblems, LOG_ALLOWANCE, MAX_FRAME_BYTES, parseAgentMessage, type AgentMessage, type HelloMessage, type LogMessage } from "@labbridge/protocol";
import { decodeBinaryFrame } from "@labbridge/protocol/frame_codec";
import { appendEntry } from "@labbridge/streams";
import { isTransientError } from "@labbridge/runtime";
import { attemptsOf, closeSocket, sendTo, SETTLED_QUEUE, type AgentSocket, type SocketData } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";
import { handleEnroll } from "./handle_enroll.ts";
import { handleHeartbeat } from "./handle_heartbeat.ts";
import { handleHello } from "./handle_hello.ts";
import { handleFinished, handleOutputs, handleProgress, handleStartRequest } from "./handle_attempt_report.ts";
import { handlePresign } from "./handle_presign.ts";
import { handlePauseState } from "./handle_pause_state.ts";
import { handleLog } from "./handle_attempt_log.ts";
import { LogAllowances, logLoad } from "./log_allowance.ts";
import { releaseSession } from "./release_session.ts";

/** Called when the upgrade completed. */
export function onOpen(ctx: GatewayContext, ws: AgentSocket): void {
  const data = ws.getUserData();
  // Every agent socket on /v1/agent was admitted: it counts against the cap until it closes.
  if (data.kind === "agent") ctx.admission.opened();
  if (data.rejection) {
    sendTo(ws, { type: "error", code: data.rejection.error, message: data.rejection.message }, ctx.metrics.sent);
    closeSocket(ws, data.rejection.code, data.rejection.message);
  }
}

async function dispatch(ctx: GatewayContext, ws: AgentSocket, msg: AgentMessage): Promise<void> {
  const data = ws.getUserData();
  // Frames a flooding session queued before it was cut off cost nothing more: the agent
  // sends again whatever went unanswered once it is back (as after any dropped link).
  if (data.rateLimited) return;
  if (data.kind === "enroll") {
    if (msg.type === "enroll") return handleEnroll(ctx, ws, msg);
    return refuse(ctx, ws, "Enrollment connections take only an enroll frame");
  }
  if (data.kind !== "agent") return;
  if (!data.helloDone) {
    if (msg.type === "hello") return helloInTurn(ctx, ws, data, msg);
    return refuse(ctx, ws, "First frame must be hello");
  }
  switch (msg.type) {
    case "heartbeat": return handleHeartbeat(ctx, ws, msg);
    case "attempt.start_request": return handleStartRequest(ctx, ws, msg);
    case "attempt.progress": return handleProgress(ctx, ws, msg);
    case "attempt.log": return void (await handleLog(ctx, ws, msg));
    case "attempt.outputs": return handleOutputs(ctx, ws, msg);
    case "attempt.finished": return handleFinished(ctx, ws, msg);
    case "presign.request": return handlePresign(ctx, ws, msg);
    case "agent.pause_state": return handlePauseState(ctx, ws, msg);
    default: return refuse(ctx, ws, `Unexpected frame "${msg.type}"`);
  }
}

/** Runs the hello when its turn in the gateway's line comes (hello_queue.ts); a socket that closed meanwhile left the line. */
async function helloInTurn(ctx: GatewayContext, ws: AgentSocket, data: SocketData, msg: HelloMessage): Promise<void> {
  if (!(await ctx.hellos.turn(ws))) return;
  try {
    // Closed by the gateway while it waited (onClose, which takes it out of the line, may not have run yet).
    if (!data.closed) await handleHello(ctx, ws, msg);
  } finally {
    ctx.hellos.done();
  }
}

function refuse(ctx: GatewayContext, ws: AgentSocket, message: string): void {
  sendTo(ws, { type: "error", code: "validation_failed", message }, ctx.metrics.sent);
  closeSocket(ws, CLOSE_CODES.malformed, message.slice(0, 100));
}

function rateLimited(ctx: GatewayContext, ws: AgentSocket, type: string, why?: string): void {
  const data = ws.getUserData();
  const { burst, perSecond } = data.limits.limitOf(type);
  const message = why ? `Too many "${type}" frames: ${why}` : `Too many "${type}" frames: the limit is ${burst} at once and ${+perSecond.toFixed(2)} a second`;
  data.rateLimited = true;
  ctx.log.warn({ agent_id: data.agent?.id, session_id: data.sessionId, type }, "session over its rate limit, closing");
  sendTo(ws, { type: "error", code: "rate_limited", message }, ctx.metrics.sent);
  closeSocket(ws, CLOSE_CODES.rate_limited, "rate limited");
}

/** Charges a live log frame to its attempt's allowance (log_allowance.ts); over it, the session is cut. */
function withinLogAllowance(ctx: GatewayContext, ws: AgentSocket, msg: LogMessage): boolean {
  const data = ws.getUserData();
  const load = logLoad([...(msg.stdout ?? []), ...(msg.stderr ?? [])]);
  const allowances = (attemptsOf(data).logAllowances ??= new LogAllowances());
  if (allowances.allow(msg.attempt_id, load, ctx.clock())) return true;
  ctx.log.warn({ agent_id: data.agent?.id, session_id: data.sessionId, attempt_id: msg.attempt_id, lines: load.lines, bytes: load.bytes }, "live log over its allowance");
  rateLimited(ctx, ws, msg.type,
    `the live log of "${msg.attempt_id}" is over its allowance of ${LOG_ALLOWANCE.linesPerSecond} lines and ${LOG_ALLOWANCE.bytesPerSecond} bytes a second`);
  return false;
}

/** Called for every frame. */
export function onMessage(ctx: GatewayContext, ws: AgentSocket, message: ArrayBuffer, isBinary: boolean): void {
  ctx.metrics.received.inc(message.byteLength);
  const data = ws.getUserData();
  if (data.closed) return;
  if (message.byteLength > MAX_FRAME_BYTES) {
    ctx.log.warn({ agent_id: data.agent?.id, bytes: message.byteLength }, "oversized frame");
    sendTo(ws, { type: "error", code: "payload_too_large", message: `Frame of ${message.byteLength} bytes is over the ${MAX_FRAME_BYTES}-byte limit` }, ctx.metrics.sent);
    return closeSocket(ws, CLOSE_CODES.too_large, "frame too large");
  }
  let text: string;
  if (isBinary) {
    // Only a session that agreed on compression may send binary frames, each one deflated frame.
    if (!data.compress) return refuse(ctx, ws, "Binary frames are not accepted");
    const decoded = decodeBinaryFrame(new Uint8Array(message));
    if (!decoded.ok && decoded.reason === "too_large") {
      ctx.log.warn({ agent_id: data.agent?.id, bytes: message.byteLength }, "compressed frame inflates past the limit");
      sendTo(ws, { type: "error", code: "payload_too_large", message: `Frame inflates to more than the ${MAX_FRAME_BYTES}-byte limit` }, ctx.metrics.sent);
      return closeSocket(ws, CLOSE_CODES.too_large, "frame too large");
    }
    if (!decoded.ok) return refuse(ctx, ws, "Binary frame is not a deflate-raw frame");
    text = decoded.text;
  } else {
    text = Buffer.from(message).toString("utf8");
  }
  const parsed = parseAgentMessage(text);
  if (!parsed.ok) {
    ctx.log.warn({ agent_id: data.agent?.id, problems: describeProblems(parsed.problems) }, "malformed frame");
    return refuse(ctx, ws, `Malformed frame: ${describeProblems(parsed.problems)}`);
  }
  // Checked before queueing, so a flood is cut off at the edge instead of piling up work.
  if (!data.limits.allow(parsed.value.type, ctx.clock())) return rateLimited(ctx, ws, parsed.value.type);
  if (parsed.value.type === "attempt.log") {
    ctx.metrics.logBytes.inc(message.byteLength);
    if (!withinLogAllowance(ctx, ws, parsed.value)) return;
  }
  const queued = data.queue
    .then(() => dispatch(ctx, ws, parsed.value))
    .catch((err) => {
      ctx.log.error({ agent_id: data.agent?.id, type: parsed.value.type, err: (err as Error).message }, "frame handler failed");
      sendTo(ws, { type: "error", code: "unavailable", message: "Gateway could not handle the frame, try again" }, ctx.metrics.sent);
      // Redis or MySQL away: the frame (a report, a start or presign request, a heartbeat)
      // got no answer. Closing makes the agent reconnect and send again everything still
      // unanswered, the path it already takes after any dropped connection, instead of
      // waiting out its per-request timeouts.
      if (isTransientError(err)) closeSocket(ws, CLOSE_CODES.unavailable, "gateway cannot reach its stores, reconnect");
    });
  data.queue = queued;
  // An idle session goes back to the promise every socket shares instead of keeping its last one.
  const idle = () => {
    if (data.queue === queued) data.queue = SETTLED_QUEUE;
  };
  void queued.then(idle, idle);
}

/** Called when the socket closed, for whatever reason. */
export function onClose(ctx: GatewayContext, ws: AgentSocket, code: number): void {
  const data = ws.getUserData();
  data.closed = true;
  const agent = data.agent;
  if (data.kind === "agent") {
    ctx.admission.closed();
    ctx.hellos.leave(ws);
  }
  if (data.kind !== "agent" || !agent || !data.helloDone) return;
  ctx.sessions.delete(agent.id, ws);
  ctx.metrics.connected.set(ctx.sessions.size);
  data.queue = data.queue.then(async () => {
    await releaseSession(ctx, ws, code);
    ctx.log.info({ agent_id: agent.id, session_id: data.sessionId, close_code: code }, "agent disconnected");
  }).catch((err) => ctx.log.warn({ agent_id: agent.id, err: (err as Error).message }, "disconnect not recorded"));
}

/**
 * uWS's own hard limit, far above the protocol's. uWS drops a socket whose frame header
 * announces more than this at once, with no close frame (the client sees 1006, not why),
 * so frames up to it are taken in and refused here with 4413 and a close frame. The price
 * is memory: a socket may buffer up to this much for one frame before it is refused.
 * Beyond it (64 MiB, far past anything an agent could build by mistake) uWS's silent drop
 * stands; decision 0012 says why.
 */
export const UWS_MAX_PAYLOAD = 64 * 1024 * 1024;
