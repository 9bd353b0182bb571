// Writing to streams: every entry goes through encodeEntry, so `redis-cli XRANGE` shows
// the same flat shape everywhere, and every stream is trimmed.
import type { Redis } from "ioredis";
import { encodeEntry, type StreamEntry } from "@labbridge/protocol";

/** Approximate length streams are trimmed to; entries are wake-ups, MySQL holds the truth. */
export const STREAM_MAXLEN = 100_000;

/** An entry to append; ts defaults to now. */
export type NewEntry = Omit<StreamEntry, "v" | "ts"> & { ts?: string };

/** Appends one entry (XADD … MAXLEN ~) and returns its id. */
export async function appendEntry(redis: Redis, stream: string, entry: NewEntry): Promise<string> {
  const id = await redis.xadd(stream, "MAXLEN", "~", STREAM_MAXLEN, "*", ...encodeEntry(entry));
  return id as string;
}
