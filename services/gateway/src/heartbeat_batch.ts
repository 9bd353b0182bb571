// Heartbeats of many sessions renewed in one Redis round trip (decision 0028): those that
// arrive within a few milliseconds (or MAX_HEARTBEAT_BATCH of them) go to Redis as one
// script, each entry fenced on its own session exactly as one heartbeat alone. A
// session's next frame waits for its heartbeat's answer (its queue), so its frames stay in
// order and a session has at most one entry in a batch.
import type { Redis } from "ioredis";
import { renewHeartbeats, type HeartbeatRenewal, type RedisKeys, type TouchOutcome } from "@labbridge/streams";
import { RoundTripBatch, type BatchLimits } from "./round_trip_batch.ts";

/** Most heartbeats one script renews: a script blocks Redis while it runs, so it stays short (about a millisecond). */
export const MAX_HEARTBEAT_BATCH = 500;

/**
 * How long the first heartbeat of a batch waits for others (ms). One turn of the event
 * loop gathered only a few at a time; a few ms are nothing against the seconds an agent
 * waits for its ack, and make the batches (and so the savings) grow with the load.
 */
export const HEARTBEAT_BATCH_WINDOW_MS = 5;

/** Collects heartbeats and renews them together; each caller gets its own outcome. */
export class HeartbeatBatch extends RoundTripBatch<HeartbeatRenewal, TouchOutcome> {
  constructor(redis: Redis, keys: RedisKeys, limits: BatchLimits = { max: MAX_HEARTBEAT_BATCH, windowMs: HEARTBEAT_BATCH_WINDOW_MS }) {
    super((entries) => renewHeartbeats(redis, keys, entries), limits, "Heartbeat renewal");
  }

  /**
   * Renews one heartbeat with the others of this turn. A failed script fails every
   * heartbeat in it, each as one failed heartbeat alone would (its session is closed to reconnect).
   */
  renew(entry: HeartbeatRenewal): Promise<TouchOutcome> {
    return this.add(entry);
  }
}
