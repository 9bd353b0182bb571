// MySQL connections. Times travel as UTC Date objects; the clock is injected by callers,
// so every timestamp written in a transition is the one the caller decided on.
import mysql from "mysql2/promise";

/** A MySQL connection pool. */
export type Pool = mysql.Pool;
/** One connection, inside or outside a transaction. */
export type Conn = mysql.PoolConnection;

/** Splits a mysql:// URL into the server URL and the database name. */
export function parseMysqlUrl(url: string): { serverUrl: string; database: string } {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_]{1,64}$/.test(database)) throw new Error(`Invalid MySQL database name in LB_MYSQL_URL: "${database}"`);
  u.pathname = "/";
  return { serverUrl: u.toString(), database };
}

/** Opens a pool on the URL's database. */
export function createPool(url: string, connectionLimit = 10): Pool {
  return mysql.createPool({
    uri: url,
    connectionLimit,
    timezone: "Z",
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    connectTimeout: 5000,
    enableKeepAlive: true,
  });
}

/** Runs `fn` in a transaction, committing on success and rolling back on any error. */
export async function withTransaction<T>(
  pool: Pool,
  fn: (conn: Conn) => Promise<T>,
  opts: { isolation?: "READ COMMITTED" | "REPEATABLE READ" } = {},
): Promise<T> {
  const conn = await pool.getConnection();
  try {
    // Applies to the next transaction on this connection only.
    if (opts.isolation) await conn.query(`SET TRANSACTION ISOLATION LEVEL ${opts.isolation}`);
    await conn.beginTransaction();
    const out = await fn(conn);
    await conn.commit();
    return out;
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}

/** MySQL error numbers that a lost race produces: the statement can simply be tried again. */
export const MYSQL_ERRNO = { deadlock: 1213, lockWaitTimeout: 1205, duplicateKey: 1062 } as const;

/** Whether `err` is a MySQL error with one of these numbers. */
export function hasMysqlErrno(err: unknown, ...errnos: number[]): boolean {
  return errnos.includes((err as { errno?: number }).errno ?? -1);
}

/** Runs `fn` again (up to `tries` in all) while it fails with one of `errnos`: the retry reads what the winner wrote. */
export async function retryOnErrno<T>(errnos: number[], fn: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries || !hasMysqlErrno(err, ...errnos)) throw err;
    }
  }
}

/** True for errors that mean MySQL could not be reached (the API answers 503 for these). */
export function isUnavailableError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "PROTOCOL_CONNECTION_LOST", "EPIPE", "ER_CON_COUNT_ERROR", "POOL_CLOSED"].includes(code) ||
    /connect|Connection lost|closed state/i.test((err as Error)?.message ?? "");
}
