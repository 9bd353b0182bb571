// The audit trail (audit_log): rows are appended, never updated or deleted (the table's
// triggers refuse both). Callers put ids and reasons in `details`, never a secret.
import type { Conn, Pool } from "./db.ts";

/** Who acted, in the terms of GET /v1/audit. */
export type AuditRole = "admin" | "user" | "agent" | "anonymous";

/** One audit row as written and read. */
export interface AuditRow {
  at: Date;
  actor: string;
  role: AuditRole;
  action: string;
  target_type: string;
  target_id: string | null;
  result: string;
  request_id: string | null;
  details: Record<string, unknown>;
}

/** Appends one audit row (on a transaction's connection, to commit with the act it records). */
export async function recordAudit(pool: Pool | Conn, row: AuditRow): Promise<void> {
  await pool.execute(
    `INSERT INTO audit_log (at, actor, role, action, target_type, target_id, result, request_id, details)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [row.at, row.actor, row.role, row.action, row.target_type, row.target_id, row.result, row.request_id, JSON.stringify(row.details)],
  );
}

/** Audit rows in the order they were written, optionally only those about one target id. */
export async function listAudit(pool: Pool, args: { targetId?: string; limit?: number } = {}): Promise<AuditRow[]> {
  const [rows] = await pool.query(
    `SELECT at, actor, role, action, target_type, target_id, result, request_id, details FROM audit_log
     ${args.targetId ? "WHERE target_id = ?" : ""} ORDER BY id LIMIT ${Number(args.limit ?? 100)}`,
    args.targetId ? [args.targetId] : [],
  );
  return (rows as (Omit<AuditRow, "details"> & { details: string | Record<string, unknown> })[]).map((r) => ({
    ...r,
    details: typeof r.details === "string" ? (JSON.parse(r.details) as Record<string, unknown>) : r.details,
  }));
}
