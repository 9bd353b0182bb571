// /readyz: a service is ready when Redis and MySQL both answer, within a short time.

/** Result of a readiness check. */
export interface Readiness {
  ready: boolean;
  redis: boolean;
  mysql: boolean;
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms).unref())]);
}

/** Pings Redis and MySQL. */
export async function checkReadiness(ctx: { redis: { ping(): Promise<string> }; pool: { query(sql: string): Promise<unknown> } }): Promise<Readiness> {
  const [redis, mysql] = await Promise.all([
    within(ctx.redis.ping(), 1000).then(() => true, () => false),
    within(ctx.pool.query("SELECT 1"), 1000).then(() => true, () => false),
  ]);
  return { ready: redis && mysql, redis, mysql };
}
