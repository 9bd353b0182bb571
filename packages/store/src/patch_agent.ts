// PATCH /v1/agents/{id}: an admin changes an agent's slots or labels. The change and its
// audit row commit together, so the trail never misses a change nor records one that failed.
import type { Pool } from "./db.ts";
import { withTransaction } from "./db.ts";
import { recordAudit, type AuditRole } from "./audit_repo.ts";

/** What a PATCH may change; an absent field is left as it is. */
export interface AgentPatch {
  slots?: number;
  /** Replaces the agent's labels as a whole. */
  labels?: Record<string, string>;
}

/** Applies a patch to a live agent and records `agent.patched`; false when no such live agent. */
export async function patchAgent(
  pool: Pool,
  args: { agentId: string; patch: AgentPatch; actor: string; role: AuditRole; requestId: string | null; now: Date },
): Promise<boolean> {
  const { agentId, patch } = args;
  return withTransaction(pool, async (conn) => {
    const [rows] = await conn.execute("SELECT slots, labels FROM agents WHERE id = ? AND revoked_at IS NULL FOR UPDATE", [agentId]);
    const before = (rows as { slots: number; labels: string }[])[0];
    if (!before) return false;
    await conn.execute(
      "UPDATE agents SET slots = COALESCE(?, slots), labels = COALESCE(?, labels) WHERE id = ? AND revoked_at IS NULL",
      [patch.slots ?? null, patch.labels ? JSON.stringify(patch.labels) : null, agentId],
    );
    const details: Record<string, unknown> = {};
    if (patch.slots !== undefined) details.slots = { from: before.slots, to: patch.slots };
    if (patch.labels !== undefined) details.labels = { from: JSON.parse(before.labels) as unknown, to: patch.labels };
    await recordAudit(conn, {
      at: args.now, actor: args.actor, role: args.role, action: "agent.patched", target_type: "agent", target_id: agentId,
      result: "ok", request_id: args.requestId, details,
    });
    return true;
  });
}
