// Live GPU and host readings of connected agents: hot state that expires with the
// heartbeats that renew it (docs/decisions/0016-gpu-telemetry-state.md). One hash per agent,
// written by one script that first checks the agent's presence session, so a replaced
// session's late heartbeat cannot overwrite the readings of the session that took over.
import type { Redis } from "ioredis";
import { runScript } from "./run_script.ts";
import type { GpuReading, HostReading } from "@labbridge/protocol";
import type { RedisKeys } from "./keys.ts";

// KEYS[1] agent session hash (presence), KEYS[2] agent telemetry hash
// ARGV[1] session_id, ARGV[2] ttl (ms), ARGV[3] "1" to replace everything held, "0" to merge,
// ARGV[4..] field, value pairs
// Returns 1 when written (or only renewed, with no pairs), 0 when the session is not current.
const WRITE = `
if redis.call('HGET', KEYS[1], 'session_id') ~= ARGV[1] then return 0 end
if ARGV[3] == '1' then redis.call('DEL', KEYS[2]) end
if #ARGV > 3 then redis.call('HSET', KEYS[2], unpack(ARGV, 4)) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;

/** What one write carries: readings that changed (or all of them, with `replace`). */
export interface TelemetryUpdate {
  /** Drop what was held first (hello, a changed GPU list): GPUs that went must not linger. */
  replace: boolean;
  gpus?: GpuReading[];
  host?: HostReading;
  /** How far the agent's clock is ahead of the gateway's (ms; negative: behind), measured at hello. */
  clockSkewMs?: number;
}

/** An agent's live readings as held. */
export interface AgentReadings {
  /** GPU readings by nvidia-smi index. */
  gpus: Map<number, GpuReading>;
  host: HostReading | null;
  /** The agent's clock skew against its gateway (ms) as measured at hello, or null when not known. */
  clockSkewMs: number | null;
}

/** The hash fields and values an update writes (`g:<index>`, `h`, `skew`), as the scripts take them. */
export function telemetryPairs(update: TelemetryUpdate): string[] {
  const pairs: string[] = [];
  for (const r of update.gpus ?? []) pairs.push(`g:${r[0]}`, JSON.stringify(r));
  if (update.host) pairs.push("h", JSON.stringify(update.host));
  if (update.clockSkewMs !== undefined) pairs.push("skew", String(Math.round(update.clockSkewMs)));
  return pairs;
}

function decode(h: Record<string, string>): AgentReadings | null {
  const gpus = new Map<number, GpuReading>();
  let host: HostReading | null = null;
  let clockSkewMs: number | null = null;
  let any = false;
  for (const [field, value] of Object.entries(h)) {
    try {
      if (field === "h") host = JSON.parse(value) as HostReading;
      else if (field === "skew") clockSkewMs = Number.isFinite(Number(value)) ? Number(value) : null;
      else if (field.startsWith("g:")) gpus.set(Number(field.slice(2)), JSON.parse(value) as GpuReading);
      else continue;
      any = true;
    } catch { /* a field we cannot read is as good as absent */ }
  }
  return any ? { gpus, host, clockSkewMs } : null;
}

/** Reads and writes agents' live readings. */
export class AgentTelemetry {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  /**
   * Writes an update for `sessionId` and renews the readings for `ttlMs`, in one script
   * (an update with no readings only renews). False when that session is not the agent's current one.
   */
  async write(agentId: string, sessionId: string, update: TelemetryUpdate, ttlMs: number): Promise<boolean> {
    const pairs = telemetryPairs(update);
    const r = await runScript(this.redis, WRITE, 2, this.keys.agentSession(agentId), this.keys.agentTelemetry(agentId),
      sessionId, Math.max(1, Math.round(ttlMs)), update.replace ? "1" : "0", ...pairs);
    return r === 1;
  }

  /** The readings of one agent, or null when none are held (offline, or expired). */
  async read(agentId: string): Promise<AgentReadings | null> {
    return decode(await this.redis.hgetall(this.keys.agentTelemetry(agentId)));
  }

  /** The readings of many agents in one round trip (a matching pass); agents with none are left out. */
  async readMany(agentIds: string[]): Promise<Map<string, AgentReadings>> {
    const found = new Map<string, AgentReadings>();
    if (agentIds.length === 0) return found;
    const pipe = this.redis.pipeline();
    for (const id of agentIds) pipe.hgetall(this.keys.agentTelemetry(id));
    const results = (await pipe.exec()) ?? [];
    results.forEach(([err, h], i) => {
      const r = err ? null : decode(h as Record<string, string>);
      if (r) found.set(agentIds[i]!, r);
    });
    return found;
  }
}
