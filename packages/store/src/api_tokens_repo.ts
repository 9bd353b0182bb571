// API tokens with roles. The first admin comes from LB_ADMIN_TOKEN (owner "admin", which no
// minted token may name); other tokens are made by an admin, expire, are stored hashed, and
// are revoked at once. Minting and revoking commit with their audit row.
import { ID_PREFIX, newId } from "@labbridge/protocol";
import { recordAudit, type AuditActor } from "./audit_repo.ts";
import type { Pool } from "./db.ts";
import { withTransaction } from "./db.ts";
import { hashSecret, newSecret, SECRET_PREFIX, secretsEqual } from "./secrets.ts";

/** Owner of LB_ADMIN_TOKEN; reserved, in any case, so no minted token can share its jobs. */
export const ADMIN_OWNER = "admin";

/** Whether `owner` is the reserved owner of LB_ADMIN_TOKEN (compared without case). */
export function isReservedOwner(owner: string): boolean {
  return owner.toLowerCase() === ADMIN_OWNER;
}

/** Who is calling. */
export interface Principal {
  owner: string;
  role: "admin" | "user";
  /** Id of the minted token used; null for LB_ADMIN_TOKEN. */
  tokenId: string | null;
}

/** What a presented bearer token is: a live principal, a known token past its expiry, or nothing we issued (or revoked). */
export type ApiTokenCheck = { status: "ok"; principal: Principal } | { status: "expired"; tokenId: string } | { status: "unknown" };

/** Resolves a bearer token at `now`. */
export async function authenticateApiToken(pool: Pool, token: string, adminToken: string | null, now: Date): Promise<ApiTokenCheck> {
  if (adminToken && secretsEqual(token, adminToken)) return { status: "ok", principal: { owner: ADMIN_OWNER, role: "admin", tokenId: null } };
  if (!token.startsWith(SECRET_PREFIX.apiToken)) return { status: "unknown" };
  const [rows] = await pool.execute("SELECT id, owner, role, expires_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL", [hashSecret(token)]);
  const row = (rows as { id: string; owner: string; role: "admin" | "user"; expires_at: Date | null }[])[0];
  // A minted token naming the reserved owner is never honoured, wherever it came from.
  if (!row || isReservedOwner(row.owner)) return { status: "unknown" };
  if (row.expires_at && row.expires_at.getTime() <= now.getTime()) return { status: "expired", tokenId: row.id };
  return { status: "ok", principal: { owner: row.owner, role: row.role, tokenId: row.id } };
}

/** A minted token as lists show it: never the secret nor its hash. */
export interface ApiTokenInfo {
  id: string;
  owner: string;
  role: "admin" | "user";
  name: string;
  created_at: Date;
  created_by: string | null;
  expires_at: Date | null;
}

/** Thrown when a token is asked for the reserved owner. */
export class ReservedOwnerError extends Error {}

/**
 * Creates an API token and its `api_token.created` audit row in one transaction; the token
 * is returned once and stored only hashed.
 */
export async function createApiToken(
  pool: Pool,
  args: { owner: string; role: "admin" | "user"; name?: string; ttlSeconds: number; now: Date; by: AuditActor },
): Promise<{ id: string; token: string; expiresAt: Date }> {
  if (isReservedOwner(args.owner)) throw new ReservedOwnerError(`Owner "${args.owner}" is reserved: it is the owner of LB_ADMIN_TOKEN`);
  const token = newSecret(SECRET_PREFIX.apiToken);
  const id = newId(ID_PREFIX.apiToken, args.now.getTime());
  const expiresAt = new Date(args.now.getTime() + args.ttlSeconds * 1000);
  const name = args.name ?? "";
  await withTransaction(pool, async (conn) => {
    await conn.execute(
      "INSERT INTO api_tokens (id, token_hash, owner, role, name, created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      [id, hashSecret(token), args.owner, args.role, name, args.now, expiresAt, args.by.actor],
    );
    await recordAudit(conn, {
      at: args.now, actor: args.by.actor, role: args.by.role, action: "api_token.created", target_type: "api_token", target_id: id,
      result: "ok", request_id: args.by.requestId, details: { owner: args.owner, role: args.role, name, expires_at: expiresAt.toISOString() },
    });
  });
  return { id, token, expiresAt };
}

/** Live (not revoked) tokens by id, expired ones included, optionally of one owner, after a cursor id. */
export async function listApiTokens(pool: Pool, args: { owner?: string; afterId?: string; limit: number }): Promise<ApiTokenInfo[]> {
  const where = ["revoked_at IS NULL"];
  const params: unknown[] = [];
  if (args.owner !== undefined) where.push("owner = ?"), params.push(args.owner);
  if (args.afterId !== undefined) where.push("id > ?"), params.push(args.afterId);
  const [rows] = await pool.query(
    `SELECT id, owner, role, name, created_at, created_by, expires_at FROM api_tokens WHERE ${where.join(" AND ")} ORDER BY id LIMIT ${Number(args.limit)}`,
    params,
  );
  return rows as ApiTokenInfo[];
}

/** Outcome of a revoke: done now, already revoked before (nothing written), or no such token for this caller. */
export type RevokeApiTokenResult = "revoked" | "already_revoked" | "not_found";

/**
 * Revokes a token and records `api_token.revoked` in one transaction. With `owner`, only a
 * token of that owner (a user revoking their own); another's reads as not found.
 */
export async function revokeApiToken(
  pool: Pool,
  args: { tokenId: string; owner?: string; now: Date; by: AuditActor },
): Promise<RevokeApiTokenResult> {
  return withTransaction(pool, async (conn) => {
    const [rows] = await conn.execute("SELECT owner, role, revoked_at FROM api_tokens WHERE id = ? FOR UPDATE", [args.tokenId]);
    const row = (rows as { owner: string; role: string; revoked_at: Date | null }[])[0];
    if (!row || (args.owner !== undefined && row.owner !== args.owner)) return "not_found";
    if (row.revoked_at) return "already_revoked";
    await conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [args.now, args.tokenId]);
    await recordAudit(conn, {
      at: args.now, actor: args.by.actor, role: args.by.role, action: "api_token.revoked", target_type: "api_token", target_id: args.tokenId,
      result: "ok", request_id: args.by.requestId, details: { owner: row.owner, role: row.role },
    });
    return "revoked";
  });
}
