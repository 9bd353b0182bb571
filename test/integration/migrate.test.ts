// `npm run migrate` and `npm run dev` rely on this: the database is created if missing,
// each migration is applied once, and running again changes nothing.
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import mysql from "mysql2/promise";
import { afterEach, describe, expect, it } from "vitest";
import { dropDatabase, migrate, MIGRATIONS_DIR } from "@labbridge/store";
import { TEST_MYSQL_SERVER } from "../harness/test_env.ts";

const url = `${TEST_MYSQL_SERVER}/lbtest_migrate_${randomBytes(4).toString("hex")}`;
afterEach(() => dropDatabase(url));

describe("migrations", () => {
  it("create the database if missing and apply every migration once, in order", async () => {
    const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".sql")).sort().map((f) => f.replace(/\.sql$/, ""));
    expect(await migrate(url)).toEqual(files);
    expect(await migrate(url)).toEqual([]);
    const conn = await mysql.createConnection({ uri: url });
    try {
      const [rows] = await conn.query("SELECT version FROM schema_migrations ORDER BY version");
      expect((rows as { version: string }[]).map((r) => r.version)).toEqual(files);
      const [tables] = await conn.query("SHOW TABLES");
      const names = (tables as Record<string, string>[]).map((t) => Object.values(t)[0]);
      for (const t of ["jobs", "attempts", "job_state_history", "job_outputs", "agents", "agent_credentials", "enrollment_tokens", "api_tokens", "idempotency_keys", "uploads"]) {
        expect(names).toContain(t);
      }
    } finally {
      await conn.end();
    }
  });

  it("two services migrating at once apply each migration once", async () => {
    const [a, b] = await Promise.all([migrate(url), migrate(url)]);
    expect([...a, ...b].sort()).toEqual(readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".sql")).map((f) => f.replace(/\.sql$/, "")).sort());
  });
});
