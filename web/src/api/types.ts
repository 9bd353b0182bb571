// What the dashboard reads from the public API (API.md). The job is the store's JobView,
// the one declaration every endpoint answers with; the rest are the shapes API.md gives
// for endpoints whose answer has no shared type yet, with only the fields the pages use.
import type { JobState } from "@labbridge/protocol";
import type { JobView, QueueInfo } from "@labbridge/store";

export type { JobState, JobView, QueueInfo };

/** A page of a list endpoint. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** The error body every failing call answers with. */
export interface ErrorAnswer {
  error: { code: string; message: string; details?: Record<string, unknown>; request_id?: string };
}

/** GET /v1/me. */
export interface Me {
  owner: string;
  role: "admin" | "user";
  token_id: string | null;
}

/** Why an agent is paused (API.md "Agents": `pause`). */
export interface AgentPause {
  source: "api" | "local" | "gpu_busy" | "user_active";
  reason: string | null;
  until: string | null;
}

/** One GPU of an agent, with its live reading (null fields when none came). */
export interface AgentGpu {
  index: number;
  name: string;
  uuid: string | null;
  memory_mb: number;
  memory_used_mb: number | null;
  utilization_percent: number | null;
  temperature_c: number | null;
  other_processes: { count: number; memory_mb: number | null } | null;
}

/** An agent as GET /v1/agents lists it. */
export interface Agent {
  id: string;
  name: string;
  status: "ONLINE" | "OFFLINE";
  paused: boolean;
  pause_reason: string | null;
  /** Present once the API reports where a pause came from. */
  pause?: AgentPause | null;
  labels: Record<string, string>;
  os: string | null;
  slots?: number;
  gpus: AgentGpu[];
  running: string[];
  last_seen_at: string | null;
  connected_since: string | null;
  cpu_percent?: number | null;
  memory_mb?: number | null;
  memory_used_mb?: number | null;
}

/** One output with its presigned download URL. */
export interface OutputLink {
  path: string;
  key: string;
  size: number;
  sha256: string;
  url: string;
  expires_at: string;
}

/** One attempt's full log in the store (GET /v1/jobs/{id}/logs). */
export interface LogLink {
  attempt_id: string;
  stream: "stdout" | "stderr";
  key: string;
  size: number;
  url: string;
  expires_at: string;
}

/** POST /v1/uploads for a file that fits one PUT. */
export interface SinglePutPlan {
  key: string;
  method: "PUT";
  url: string;
  headers?: Record<string, string>;
  expires_at: string;
}

/** POST /v1/uploads for a file over the part size. */
export interface MultipartPlan {
  key: string;
  upload_id: string;
  part_size: number;
  parts: { number: number; url: string; headers?: Record<string, string> }[];
  complete: { method: string; url: string; headers?: Record<string, string> };
}

/** An API token as listed (never its secret). */
export interface ApiToken {
  id: string;
  owner: string;
  role: "admin" | "user";
  name: string | null;
  created_at?: string;
  expires_at: string | null;
  revoked_at?: string | null;
}

/** POST /v1/api-tokens: the secret is shown this once. */
export interface MintedToken {
  id?: string;
  token: string;
  owner: string;
  role: string;
  name?: string | null;
  expires_at?: string | null;
}

/** One row of GET /v1/audit. */
export interface AuditRow {
  at: string;
  actor: string;
  role: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  result: string;
  request_id: string | null;
  details: Record<string, unknown> | null;
}

/** One event of GET /v1/jobs/{id}/events. */
export type JobEvent =
  | { event: "job"; data: JobView | null }
  | { event: "state"; data: { job_id: string; attempt_id: string | null; from?: JobState; to: JobState; cause?: string; at: string } }
  | { event: "progress"; data: { job_id: string; attempt_id: string | null; message: string; at: string } }
  | { event: "log"; data: { job_id?: string; attempt_id?: string | null; stream: "stdout" | "stderr"; line: string; at?: string } };
