// Redis stream entries (DESIGN.md "Streams"): flat field/value pairs that read well in
// `redis-cli XRANGE`: type, v, the ids involved, ts, and data (JSON) for the rest.

/** Schema version of every entry written by this code. */
export const STREAM_ENTRY_VERSION = 1;

/** Stream names under a prefix. */
export function streamNames(prefix: string) {
  return {
    jobs: `${prefix}:jobs`,
    agentEvents: `${prefix}:agent-events`,
    jobEvents: `${prefix}:job-events`,
    gateway: (gatewayId: string) => `${prefix}:gw:${gatewayId}`,
  };
}

/** Entry types of `<prefix>:jobs`. */
export type JobsEntryType = "job.submitted" | "job.cancel_requested" | "job.requeued";
/** Entry types of `<prefix>:agent-events` (agent.updated: an admin changed its slots or labels). */
export type AgentEventType =
  | "agent.online" | "agent.offline" | "agent.paused" | "agent.resumed" | "agent.updated"
  | "attempt.started" | "attempt.progress" | "attempt.succeeded" | "attempt.failed" | "attempt.canceled"
  | "attempt.expired";
/**
 * `data` of attempt.succeeded / attempt.failed / attempt.canceled from a gateway. The outputs
 * themselves are in MySQL already (the gateway records them before acking them); the entry
 * carries only their count and digest (outputsDigest), so it stays small for any number.
 * An entry from an older gateway lists `outputs` instead.
 */
export interface AttemptResultData {
  exit_code: number | null;
  error: { code: string; message: string } | null;
  output_count: number;
  outputs_digest: string;
  /** The gateway session the report came through, so what the scheduler concludes about the agent is fenced on it. */
  session_id?: string;
}
/** Entry types of `<prefix>:gw:<id>`. */
export type GatewayCommandType = "attempt.assign" | "attempt.cancel" | "attempt.abort" | "agent.pause" | "agent.resume" | "agent.disconnect";
/**
 * Entry types of `<prefix>:job-events`. job.log is written by the gateway itself (live log
 * lines are never in MySQL, so no scheduler step stands between; docs/decisions/0029).
 */
export type JobEventType = "job.state_changed" | "job.progress" | "job.log";

/** `data` of a job.log entry: one attempt.log frame's lines, per stream, skipped runs already shown in place. */
export interface JobLogData {
  stdout?: string[];
  stderr?: string[];
  skipped?: { stdout?: number; stderr?: number };
}

/** One decoded stream entry. */
export interface StreamEntry<T extends string = string> {
  type: T;
  v: number;
  job_id?: string;
  attempt_id?: string;
  agent_id?: string;
  ts: string;
  data: Record<string, unknown>;
}

const ID_FIELDS = ["job_id", "attempt_id", "agent_id"] as const;

/** Flattens an entry into XADD field/value pairs. */
export function encodeEntry(entry: Omit<StreamEntry, "v" | "ts"> & { ts?: string }): string[] {
  const fields = ["type", entry.type, "v", String(STREAM_ENTRY_VERSION)];
  for (const f of ID_FIELDS) if (entry[f]) fields.push(f, entry[f] as string);
  fields.push("ts", entry.ts ?? new Date().toISOString(), "data", JSON.stringify(entry.data ?? {}));
  return fields;
}

/** Reads XREADGROUP field/value pairs back into an entry; throws on a malformed entry. */
export function decodeEntry(fields: string[]): StreamEntry {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
  const type = map.get("type");
  const v = Number(map.get("v"));
  if (!type) throw new Error("Stream entry has no type");
  if (v !== STREAM_ENTRY_VERSION) throw new Error(`Stream entry "${type}" has unknown version: ${map.get("v")}`);
  const data: unknown = JSON.parse(map.get("data") ?? "{}");
  const entry: StreamEntry = { type, v, ts: map.get("ts") ?? "", data: data as Record<string, unknown> };
  for (const f of ID_FIELDS) {
    const value = map.get(f);
    if (value) entry[f] = value;
  }
  return entry;
}
