// Enrollment over the socket: a one-use enrollment token (sent in the Authorization
// header at upgrade) becomes the agent's own credential, sent back once.
import { CLOSE_CODES, type EnrollMessage } from "@labbridge/protocol";
import { enrollAgent } from "@labbridge/store";
import { closeSocket, sendTo, type AgentSocket } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";

/** Handles the enroll frame of an enrollment connection. */
export async function handleEnroll(ctx: GatewayContext, ws: AgentSocket, msg: EnrollMessage): Promise<void> {
  const data = ws.getUserData();
  const enrolled = data.token
    ? await enrollAgent(ctx.pool, { token: data.token, name: msg.name, hostname: msg.hostname, os: msg.os, labels: msg.labels, now: new Date(ctx.clock()), sessionId: data.sessionId })
    : null;
  data.token = null;
  if (!enrolled) {
    sendTo(ws, { type: "error", code: "invalid_token", message: "Enrollment token is not valid, was used, or expired" }, ctx.metrics.sent);
    closeSocket(ws, CLOSE_CODES.unauthorized, "invalid enrollment token");
    return;
  }
  ctx.log.info({ agent_id: enrolled.agentId, name: msg.name, os: msg.os }, "agent enrolled");
  sendTo(ws, { type: "enrolled", agent_id: enrolled.agentId, credential: enrolled.credential }, ctx.metrics.sent);
  closeSocket(ws, CLOSE_CODES.normal, "enrolled");
}
