// Authentication at the WebSocket upgrade: the bearer token comes only from the
// Authorization header. A bad token is still upgraded and then closed with 4401, so the
// agent learns why (a refused HTTP upgrade looks like a network error from the client).
import { authenticateAgent } from "@labbridge/store";
import { CLOSE_CODES, ID_PREFIX, newId } from "@labbridge/protocol";
import type { GatewayContext } from "./gateway_context.ts";
import type { SocketData } from "./agent_sessions.ts";

function bearer(header: string): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m?.[1] ?? null;
}

function base(kind: SocketData["kind"]): SocketData {
  return {
    kind, sessionId: newId(ID_PREFIX.session), agent: null, token: null, rejection: null,
    helloDone: false, closed: false, queue: Promise.resolve(), lastProgressAt: new Map(),
  };
}

/** Builds the socket's user data for a connection to /v1/agent. */
export async function authenticateAgentUpgrade(ctx: GatewayContext, authorization: string): Promise<SocketData> {
  const token = bearer(authorization);
  if (!token) return { ...base("rejected"), rejection: { code: CLOSE_CODES.unauthorized, message: "Missing bearer credential" } };
  const agent = await authenticateAgent(ctx.pool, token);
  if (!agent) return { ...base("rejected"), rejection: { code: CLOSE_CODES.unauthorized, message: "Credential is not valid or was revoked" } };
  return { ...base("agent"), agent };
}

/** Builds the socket's user data for a connection to /v1/enroll; the token is checked on the enroll frame. */
export function enrollUpgrade(authorization: string): SocketData {
  const token = bearer(authorization);
  if (!token) return { ...base("rejected"), rejection: { code: CLOSE_CODES.unauthorized, message: "Missing bearer enrollment token" } };
  return { ...base("enroll"), token };
}
