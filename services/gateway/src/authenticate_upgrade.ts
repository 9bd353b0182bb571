// Authentication at the WebSocket upgrade: the bearer token comes only from the
// Authorization header. A bad token is still upgraded and then closed, so the agent learns
// why (a refused HTTP upgrade looks like a network error from the client): 4401 for a
// credential never issued, 4403 for a revoked one (decision 0005). Both are audited (up to
// a limit per address), and an agent reconnecting too often gets 4429 (connection_limits.ts).
import { hashSecret, pauseOf } from "@labbridge/store";
import { CLOSE_CODES, ID_PREFIX, newId, retryAfterReason } from "@labbridge/protocol";
import type { GatewayContext } from "./gateway_context.ts";
import { SETTLED_QUEUE, type SocketData } from "./agent_sessions.ts";
import { auditCredentialRefused } from "./audit_agent_access.ts";
import { FrameLimiter, sharedFrameLimits } from "./frame_limits.ts";

function bearer(header: string): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m?.[1] ?? null;
}

function base(ctx: GatewayContext, kind: SocketData["kind"], remoteAddress: string): SocketData {
  return {
    kind, sessionId: newId(ID_PREFIX.session), agent: null, token: null, rejection: null, remoteAddress,
    helloDone: false, compress: false, closed: false, queue: SETTLED_QUEUE,
    limits: new FrameLimiter(sharedFrameLimits(ctx.config.heartbeatSeconds)), rateLimited: false, attempts: null,
  };
}

/** User data of an upgrade refused before any lookup (admission control): closed with 1013 and the hint. */
export function busyUpgrade(ctx: GatewayContext, remoteAddress: string, retryAfterMs: number): SocketData {
  return rejected(ctx, remoteAddress, { code: CLOSE_CODES.try_again_later, error: "unavailable", message: retryAfterReason(retryAfterMs) });
}

function rejected(ctx: GatewayContext, remoteAddress: string, rejection: NonNullable<SocketData["rejection"]>): SocketData {
  return { ...base(ctx, "rejected", remoteAddress), rejection };
}

/** Builds the socket's user data for a connection to /v1/agent. */
export async function authenticateAgentUpgrade(ctx: GatewayContext, authorization: string, remoteAddress: string): Promise<SocketData> {
  const token = bearer(authorization);
  if (!token) return rejected(ctx, remoteAddress, { code: CLOSE_CODES.unauthorized, error: "invalid_token", message: "Missing bearer credential" });
  const now = ctx.clock();
  const limits = ctx.connectionLimits;
  // Counted by the credential's hash before the lookup, so a reconnect loop costs no query;
  // a credential that turns out not to be live gives its token back (refusals are limited
  // by address below).
  const credentialKey = hashSecret(token);
  if (!limits.agentConnects.allow(credentialKey, now)) {
    if (limits.agentConnects.shouldWarn(credentialKey, now)) {
      ctx.log.warn({ remote_address: remoteAddress }, "credential reconnecting too often, refusing with 4429 (logged once a minute)");
    }
    return rejected(ctx, remoteAddress, { code: CLOSE_CODES.rate_limited, error: "rate_limited", message: "Too many connections with this credential; reconnect later" });
  }
  // Joins the batch of upgrades arriving with it: one query for all of them (credential_lookups.ts).
  const checked = await ctx.credentials.check(credentialKey);
  if (checked.status === "live") {
    const { id, os } = checked.agent;
    return { ...base(ctx, "agent", remoteAddress), agent: { id, os, apiPause: pauseOf({ ...checked.agent, agent_pause: null }, ctx.clock()) } };
  }
  limits.agentConnects.forget(credentialKey);
  const data = checked.status === "revoked"
    ? rejected(ctx, remoteAddress, { code: CLOSE_CODES.revoked, error: "forbidden", message: "Agent credential was revoked" })
    : rejected(ctx, remoteAddress, { code: CLOSE_CODES.unauthorized, error: "invalid_token", message: "Credential is not valid" });
  const agentId = checked.status === "revoked" ? checked.agentId : null;
  const addressKey = `addr:${remoteAddress}`;
  if (limits.refusedCredentials.allow(addressKey, now)) {
    ctx.log.warn({ agent_id: agentId, result: checked.status, remote_address: remoteAddress }, "agent credential refused");
    await auditCredentialRefused(ctx, { agentId, result: checked.status, sessionId: data.sessionId, remoteAddress });
  } else if (limits.refusedCredentials.shouldWarn(addressKey, now)) {
    ctx.log.warn({ remote_address: remoteAddress }, "address keeps presenting refused credentials; refusing without audit rows (logged once a minute)");
  }
  return data;
}

/** Builds the socket's user data for a connection to /v1/enroll; the token is checked on the enroll frame. */
export function enrollUpgrade(ctx: GatewayContext, authorization: string, remoteAddress: string): SocketData {
  const token = bearer(authorization);
  if (!token) return rejected(ctx, remoteAddress, { code: CLOSE_CODES.unauthorized, error: "invalid_token", message: "Missing bearer enrollment token" });
  return { ...base(ctx, "enroll", remoteAddress), token };
}
