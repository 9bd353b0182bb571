// What the gateway's handlers share: the service context, this gateway's sockets, object
// storage for presigning, and its byte counters.
import type { ServiceContext } from "@labbridge/runtime";
import type { ObjectStorage } from "@labbridge/storage";
import type { CredentialLookups } from "./credential_lookups.ts";
import type { Counter, Gauge, Registry } from "@labbridge/metrics";
import type { AgentSessions } from "./agent_sessions.ts";
import type { Admission } from "./admission.ts";
import type { ConnectionLimits } from "./connection_limits.ts";
import type { HelloQueue } from "./hello_queue.ts";
import type { HeartbeatBatch } from "./heartbeat_batch.ts";

/** Shared state of one gateway process. */
export interface GatewayContext extends ServiceContext {
  gatewayId: string;
  sessions: AgentSessions;
  /** Connection limits by agent and by peer address (connection_limits.ts). */
  connectionLimits: ConnectionLimits;
  /** Agent credentials looked up in batches at the upgrade (credential_lookups.ts). */
  credentials: CredentialLookups;
  /** Admission control on agent upgrades and the cap on connections (admission.ts). */
  admission: Admission;
  /** The hellos of open sockets, a few at a time, the rest waiting in order (hello_queue.ts). */
  hellos: HelloQueue;
  /** Renews the heartbeats of one turn of the event loop in one Redis round trip (heartbeat_batch.ts). */
  heartbeats: HeartbeatBatch;
  storage: ObjectStorage;
  metrics: {
    registry: Registry;
    received: Counter;
    sent: Counter;
    connected: Gauge;
    /** Wire bytes of attempt.log frames: what live logs cost the control plane. */
    logBytes: Counter;
    /** Live log lines forwarded, and lines the agents reported skipping. */
    logLines: Counter;
    logSkipped: Counter;
    heapUsed: Gauge;
    rss: Gauge;
  };
}

/** Lease expiry for a renewal made now. */
export function leaseExpiry(ctx: GatewayContext, now: number): number {
  return now + ctx.config.leaseTtlSeconds * 1000;
}
