// API tokens with roles. The first admin comes from LB_ADMIN_TOKEN; other tokens are made
// by an admin and stored hashed.
import { newId } from "@labbridge/protocol";
import type { Pool } from "./db.ts";
import { hashSecret, newSecret, SECRET_PREFIX, secretsEqual } from "./secrets.ts";

/** Who is calling. */
export interface Principal {
  owner: string;
  role: "admin" | "user";
}

/** Resolves a bearer token to a principal, or null when it is not valid. */
export async function authenticateApiToken(pool: Pool, token: string, adminToken: string | null): Promise<Principal | null> {
  if (adminToken && secretsEqual(token, adminToken)) return { owner: "admin", role: "admin" };
  if (!token.startsWith(SECRET_PREFIX.apiToken)) return null;
  const [rows] = await pool.execute("SELECT owner, role FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL", [hashSecret(token)]);
  return (rows as Principal[])[0] ?? null;
}

/** Creates an API token; the token is returned once and stored only hashed. */
export async function createApiToken(pool: Pool, args: { owner: string; role: "admin" | "user"; now: Date }): Promise<string> {
  const token = newSecret(SECRET_PREFIX.apiToken);
  await pool.execute(
    "INSERT INTO api_tokens (id, token_hash, owner, role, created_at) VALUES (?, ?, ?, ?, ?)",
    [newId("tok_", args.now.getTime()), hashSecret(token), args.owner, args.role, args.now],
  );
  return token;
}
