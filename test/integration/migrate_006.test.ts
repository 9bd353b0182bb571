// Migration 006 on a database that already holds tokens: a user token minted for the reserved
// owner admin before the fix (issue 9) is revoked, with an audit row; others keep working
// without an expiry.
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { authenticateApiToken, createPool, dropDatabase, hashSecret, listAudit, migrate, MIGRATIONS_DIR, newSecret, SECRET_PREFIX } from "@labbridge/store";
import { TEST_MYSQL_SERVER } from "../harness/test_env.ts";

const url = `${TEST_MYSQL_SERVER}/lbtest_migrate006_${randomBytes(4).toString("hex")}`;
let before: string;

afterEach(async () => {
  await dropDatabase(url);
  rmSync(before, { recursive: true, force: true });
});

describe("migration 006", () => {
  it("revokes tokens of the reserved owner admin made before it, on the audit trail, and leaves other tokens live without expiry", async () => {
    before = mkdtempSync(join(tmpdir(), "migrations-before-006-"));
    for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".sql") && f < "006")) copyFileSync(join(MIGRATIONS_DIR, f), join(before, f));
    await migrate(url, before);
    const pool = createPool(url);
    try {
      const tokens = { admin: newSecret(SECRET_PREFIX.apiToken), bob: newSecret(SECRET_PREFIX.apiToken) };
      const at = new Date(Date.UTC(2025, 0, 1));
      await pool.execute("INSERT INTO api_tokens (id, token_hash, owner, role, created_at) VALUES ('tok_a', ?, 'admin', 'user', ?), ('tok_b', ?, 'bob', 'user', ?)",
        [hashSecret(tokens.admin), at, hashSecret(tokens.bob), at]);
      expect(await migrate(url)).toContain("006_tokens_audit_usage");
      const [rows] = await pool.query("SELECT id, revoked_at IS NOT NULL AS revoked, expires_at FROM api_tokens ORDER BY id");
      expect(rows).toEqual([{ id: "tok_a", revoked: 1, expires_at: null }, { id: "tok_b", revoked: 0, expires_at: null }]);
      expect((await listAudit(pool, { targetId: "tok_a" })).map((r) => [r.actor, r.action, r.result, r.details.owner])).toEqual([["migration 006", "api_token.revoked", "ok", "admin"]]);
      const later = new Date(Date.UTC(2030, 0, 1));
      expect(await authenticateApiToken(pool, tokens.bob, null, later)).toEqual({ status: "ok", principal: { owner: "bob", role: "user", tokenId: "tok_b" } });
      expect(await authenticateApiToken(pool, tokens.admin, null, later)).toEqual({ status: "unknown" });
    } finally {
      await pool.end();
    }
  });
});
