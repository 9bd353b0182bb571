// Lua scripts sent by their SHA1 (EVALSHA), the text only when Redis does not have it yet
// (NOSCRIPT: a restarted or flushed Redis). EVAL with the text made Redis hash a few
// hundred bytes on every heartbeat and hello, and put them on the wire each time: at
// 100,000 agents that is most of what the gateway sends Redis.
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

const shas = new Map<string, string>();

function shaOf(script: string): string {
  let sha = shas.get(script);
  if (!sha) shas.set(script, (sha = createHash("sha1").update(script).digest("hex")));
  return sha;
}

/** Runs `script` with `numKeys` keys then args: EVALSHA, falling back to EVAL when Redis lacks it. */
export async function runScript(redis: Redis, script: string, numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(shaOf(script), numKeys, ...keysAndArgs);
  } catch (err) {
    if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
    return redis.eval(script, numKeys, ...keysAndArgs);
  }
}
