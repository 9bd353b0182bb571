// Audit rows the gateway writes (API.md, GET /v1/audit): a refused agent credential at the
// upgrade, and a second session refused because the credential's agent is healthy
// elsewhere. A row that cannot be written is logged, and the refusal stands regardless.
import { recordAudit, type AuditRow } from "@labbridge/store";
import type { GatewayContext } from "./gateway_context.ts";

async function record(ctx: GatewayContext, row: AuditRow): Promise<void> {
  try {
    await recordAudit(ctx.pool, row);
  } catch (err) {
    ctx.log.warn({ action: row.action, target_id: row.target_id, err: (err as Error).message }, "audit row not recorded");
  }
}

/** A credential refused at the upgrade: unknown (4401) or revoked (4403). */
export function auditCredentialRefused(
  ctx: GatewayContext,
  args: { agentId: string | null; result: "unknown" | "revoked"; sessionId: string; remoteAddress: string },
): Promise<void> {
  return record(ctx, {
    at: new Date(ctx.clock()), actor: args.agentId ?? "unknown", role: args.agentId ? "agent" : "anonymous",
    action: "agent.credential_refused", target_type: "agent", target_id: args.agentId, result: args.result,
    request_id: args.sessionId, details: { gateway_id: ctx.gatewayId, remote_address: args.remoteAddress },
  });
}

/** A second session with a credential whose agent holds a healthy session: refused (4409). */
export function auditSessionRefused(
  ctx: GatewayContext,
  args: {
    agentId: string; sessionId: string; remoteAddress: string; hostname: string; os: string;
    current: { sessionId: string; gatewayId: string; lastSeen: number };
  },
): Promise<void> {
  const now = ctx.clock();
  return record(ctx, {
    at: new Date(now), actor: args.agentId, role: "agent", action: "agent.session_refused",
    target_type: "agent", target_id: args.agentId, result: "refused", request_id: args.sessionId,
    details: {
      gateway_id: ctx.gatewayId, remote_address: args.remoteAddress, claimed_hostname: args.hostname, claimed_os: args.os,
      current_session_id: args.current.sessionId, current_gateway_id: args.current.gatewayId, current_seen_ms_ago: now - args.current.lastSeen,
    },
  });
}
