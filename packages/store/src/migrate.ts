// Applies infra/migrations/*.sql in order, once each, recording them in schema_migrations.
// Creates the database if it is missing, so `npm run dev` works on a fresh server.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import mysql from "mysql2/promise";
import { parseMysqlUrl } from "./db.ts";

/** Folder holding the migration files. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../infra/migrations/", import.meta.url));

/** Creates the database if needed and applies pending migrations; returns the versions applied. */
export async function migrate(url: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const { serverUrl, database } = parseMysqlUrl(url);
  const server = await mysql.createConnection({ uri: serverUrl, multipleStatements: true });
  try {
    await server.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await server.query(`USE \`${database}\``);
    await server.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(128) NOT NULL PRIMARY KEY, applied_at DATETIME(3) NOT NULL)",
    );
    // One migrator at a time: several services may start together.
    await server.query("SELECT GET_LOCK('labbridge_migrate', 30)");
    try {
      const [rows] = await server.query("SELECT version FROM schema_migrations");
      const done = new Set((rows as { version: string }[]).map((r) => r.version));
      const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
      const applied: string[] = [];
      for (const file of files) {
        const version = file.replace(/\.sql$/, "");
        if (done.has(version)) continue;
        const sql = await readFile(join(dir, file), "utf8");
        await server.query(sql);
        await server.query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, UTC_TIMESTAMP(3))", [version]);
        applied.push(version);
      }
      return applied;
    } finally {
      await server.query("SELECT RELEASE_LOCK('labbridge_migrate')");
    }
  } finally {
    await server.end();
  }
}

/** Drops a database (tests clean up after themselves with this). */
export async function dropDatabase(url: string): Promise<void> {
  const { serverUrl, database } = parseMysqlUrl(url);
  const server = await mysql.createConnection({ uri: serverUrl });
  try {
    await server.query(`DROP DATABASE IF EXISTS \`${database}\``);
  } finally {
    await server.end();
  }
}
