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

/** Who an act is done by, as the API hands it to the store so the act and its audit row commit together. */
export interface AuditActor {
  actor: string;
  role: AuditRole;
  requestId: string | null;
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

/** Filters of GET /v1/audit; every one is optional. */
export interface AuditFilter {
  action?: string;
  actor?: string;
  targetType?: string;
  targetId?: string;
  result?: string;
  /** Rows at or after this time. */
  from?: Date;
  /** Rows before this time. */
  to?: Date;
  /** Rows older than this row id (the cursor). */
  beforeId?: number;
  limit: number;
}

/** A page of audit rows, newest first, with the id of the last one when more follow. */
export async function auditPage(pool: Pool, filter: AuditFilter): Promise<{ rows: AuditRow[]; nextBeforeId: number | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => (where.push(sql), params.push(value));
  if (filter.action !== undefined) add("action = ?", filter.action);
  if (filter.actor !== undefined) add("actor = ?", filter.actor);
  if (filter.targetType !== undefined) add("target_type = ?", filter.targetType);
  if (filter.targetId !== undefined) add("target_id = ?", filter.targetId);
  if (filter.result !== undefined) add("result = ?", filter.result);
  if (filter.from !== undefined) add("at >= ?", filter.from);
  if (filter.to !== undefined) add("at < ?", filter.to);
  if (filter.beforeId !== undefined) add("id < ?", filter.beforeId);
  const [rows] = await pool.query(
    `SELECT id, at, actor, role, action, target_type, target_id, result, request_id, details FROM audit_log
     ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${Number(filter.limit) + 1}`,
    params,
  );
  const all = rows as (Omit<AuditRow, "details"> & { id: number; details: string | Record<string, unknown> })[];
  const page = all.slice(0, filter.limit);
  return {
    rows: page.map(({ id: _, ...r }) => ({ ...r, details: typeof r.details === "string" ? (JSON.parse(r.details) as Record<string, unknown>) : r.details })),
    nextBeforeId: all.length > filter.limit ? page[page.length - 1]!.id : null,
  };
}
