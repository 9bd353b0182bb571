// The floor under any Redis Streams design: one XADD to a consumer already blocked in
// XREADGROUP, timed from before the XADD to the consumer holding the entry. Sent one at a
// time, so the consumer is always blocked when the entry arrives.
import { Redis } from "ioredis";
import { percentile, round } from "./stats.ts";

/** One floor run. */
export interface FloorRun {
  messages: number;
  p50_ms: number;
  p99_ms: number;
}

/** `messages` round trips XADD → blocked XREADGROUP on `stream` (under the bench's prefix). */
export async function redisFloorRun(redisUrl: string, stream: string, messages: number): Promise<FloorRun> {
  const producer = new Redis(redisUrl);
  const consumer = new Redis(redisUrl);
  try {
    await producer.del(stream);
    await producer.xgroup("CREATE", stream, "floor", "$", "MKSTREAM");
    const consumerId = Number(await consumer.client("ID"));
    const latencies: number[] = [];
    for (let i = 0; i < messages; i++) {
      // The consumer's XREADGROUP goes out first; the XADD follows once Redis has it.
      const read = consumer.xreadgroup("GROUP", "floor", "c1", "COUNT", 1, "BLOCK", 5000, "STREAMS", stream, ">");
      // Until Redis shows the consumer's connection blocked (flag b): then the entry meets a waiting reader.
      while (!/flags=\S*b/.test(String(await producer.client("LIST", "ID", consumerId)))) await new Promise((r) => setImmediate(r));
      const t0 = performance.now();
      await producer.xadd(stream, "*", "i", String(i));
      const got = await read;
      if (!got) throw new Error("the blocked consumer got nothing");
      latencies.push(performance.now() - t0);
    }
    return { messages, p50_ms: round(percentile(latencies, 50)), p99_ms: round(percentile(latencies, 99)) };
  } finally {
    producer.disconnect();
    consumer.disconnect();
  }
}
